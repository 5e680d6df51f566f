import type { WaitPolicy } from "../enrich/resolve.js";
import type { ItemBatch, SourceBatch } from "./items.js";

/**
 * Records taken through decode … encode together. A fetch brings thousands of records per
 * partition; taken stage by stage, every record's event, decimals and context outlived a young
 * generation's collection and were copied or promoted. In chunks of this size they die young:
 * −25–35% CPU in those stages on a replay (BENCHMARKS.md, issue 22).
 */
export const CHUNK_RECORDS = 256;

/** A source batch cut into consecutive chunks of at most `size` records, in order. */
export function chunksOfBatch(batch: SourceBatch, size: number = CHUNK_RECORDS): SourceBatch[] {
  if (batch.records.length <= size) return [batch];
  const chunks: SourceBatch[] = [];
  for (let i = 0; i < batch.records.length; i += size) {
    chunks.push({ ...batch, records: batch.records.slice(i, i + size) });
  }
  return chunks;
}

/** The chunks of one source batch as one batch again: their items in order, the last's offset. */
export function joined(chunks: ItemBatch[]): ItemBatch {
  const [first] = chunks;
  if (first === undefined) throw new Error("a source batch is never cut into no chunks");
  if (chunks.length === 1) return first;
  const last = chunks[chunks.length - 1] as ItemBatch;
  return { ...first, items: chunks.flatMap((c) => c.items), nextOffset: last.nextOffset };
}

/**
 * The wait policy of one source batch, read as each chunk comes to wait: every chunk's wait
 * ends when the batch's would, so a batch still waits at most one timeout in all (SPEC §6), as
 * when all its records waited together.
 */
export function batchWait(policy: WaitPolicy, now: () => number = Date.now): () => WaitPolicy {
  const until = now() + policy.timeoutMs;
  return () => ({ ...policy, timeoutMs: Math.max(0, until - now()) });
}
