import type { Admin } from "kafkajs";
import { partitionKey } from "./positions.js";
import { presentTopics } from "./topic-presence.js";

/**
 * End offsets (high watermarks) of the topics' partitions now, keyed by `partitionKey()`. Partitions
 * holding no message (empty, or emptied by retention) are left out: there is nothing to await.
 */
export async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(p.high) > BigInt(p.low)) out.set(partitionKey(topic, p.partition), BigInt(p.high));
    }
  }
  return out;
}

export interface PendingRange {
  from: bigint;
  to: bigint;
}

/**
 * What a group still has to consume of the topics, up to their end offsets now: from its
 * committed offset (or the earliest one for a new group) to the end. Partitions with nothing
 * left are left out.
 */
export async function pendingRanges(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, PendingRange>> {
  const out = new Map<string, PendingRange>();
  const present = await presentTopics(admin, topics);
  if (present.length === 0) return out;
  const committed = new Map<string, bigint>();
  for (const t of await admin.fetchOffsets({ groupId, topics: present })) {
    for (const p of t.partitions)
      if (BigInt(p.offset) >= 0n) committed.set(partitionKey(t.topic, p.partition), BigInt(p.offset));
  }
  for (const topic of present) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const key = partitionKey(topic, p.partition);
      const low = BigInt(p.low);
      const from = (committed.get(key) ?? low) > low ? (committed.get(key) ?? low) : low;
      const to = BigInt(p.high);
      if (to > from) out.set(key, { from, to });
    }
  }
  return out;
}

/** Where each pending range ends: the end offsets to await. */
export const rangeEnds = (ranges: Map<string, PendingRange>) =>
  new Map([...ranges].map(([k, r]) => [k, r.to]));
/** How many records the pending ranges hold. */
export const rangeTotal = (ranges: Map<string, PendingRange>) =>
  [...ranges.values()].reduce((n, r) => n + Number(r.to - r.from), 0);
