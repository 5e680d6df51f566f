import type { Admin, Kafka } from "kafkajs";
import { isRetriable } from "../failures.js";
import { BACKOFF, retry } from "../retry.js";
import { presentTopics } from "./topic-presence.js";

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** The next offset the group reads from this partition. */
  offset: string;
}

/** Offsets a group was given that it did not hold when read back. */
class OffsetsNotTakenError extends Error {
  override name = "OffsetsNotTakenError";
}

/**
 * Commits a consumer group's offsets, many topics in one membership: a short-lived member joins
 * the group, commits them and leaves, in about a second (kafkajs' admin.setOffsets joins the
 * group once per topic and waits out a full fetch, seconds each). The group must have no other
 * member. Reads the offsets back, and commits again if any did not take: on a broker started
 * moments ago (its group coordinator still loading) a first commit was seen to read back as
 * none. Throws when they still have not taken after a few tries.
 */
export async function commitGroupOffsets(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  offsets: readonly PartitionOffset[],
): Promise<void> {
  const topics = [...new Set(offsets.map((o) => o.topic))];
  if (topics.length === 0) return;
  await retry(
    async () => {
      await commitAsMember(kafka, groupId, topics, offsets);
      await assertTaken(admin, groupId, topics, offsets);
    },
    { ...BACKOFF.groupOffsets, retryIf: mayTakeNextTime },
  );
}

/** Offsets that did not take, or a Kafka failure that may pass (a new broker's coordinator loading). */
const mayTakeNextTime = (e: unknown) => e instanceof OffsetsNotTakenError || isRetriable(e);

async function commitAsMember(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
  offsets: readonly PartitionOffset[],
): Promise<void> {
  // Never restarted by kafkajs after a crash: a member restarted behind our disconnect stayed in
  // the group, held half its partitions and consumed them into nothing (the fuzz test stalled on
  // a fresh Kafka 4.3.1). A crash fails this attempt instead, and the caller tries again.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    retry: { restartOnFailure: async () => false },
  });
  await consumer.connect();
  try {
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    });
    // Should subscribe() or run() throw first, a later crash must not be an unhandled rejection.
    joined.catch(() => undefined);
    await consumer.subscribe({ topics: [...topics], fromBeginning: false });
    // Nothing is processed or committed but the offsets below. The group exists only once
    // joined: until then pausing or committing throws 'Consumer group was not initialized'.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await joined;
    consumer.pause(topics.map((topic) => ({ topic })));
    await consumer.commitOffsets([...offsets]);
  } finally {
    await consumer.disconnect();
  }
}

async function assertTaken(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
  offsets: readonly PartitionOffset[],
): Promise<void> {
  for (const t of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
    for (const p of t.partitions) {
      const want = offsets.find((o) => o.topic === t.topic && o.partition === p.partition)?.offset;
      if (want !== undefined && p.offset !== want)
        throw new OffsetsNotTakenError(
          `group ${groupId}: ${t.topic}:${p.partition} committed at ${p.offset}, not ${want}`,
        );
    }
  }
}

/**
 * Commits a new group's offsets at the topics' current ends, so it reads only what comes next.
 * Topics that do not exist yet are left out (the group starts at their beginning).
 */
export async function startGroupAtEnd(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  topics: readonly string[],
): Promise<void> {
  const offsets: PartitionOffset[] = [];
  for (const topic of await presentTopics(admin, topics)) {
    for (const p of await admin.fetchTopicOffsets(topic))
      offsets.push({ topic, partition: p.partition, offset: p.high });
  }
  await commitGroupOffsets(kafka, admin, groupId, offsets);
}
