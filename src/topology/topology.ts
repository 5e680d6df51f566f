import { concatMap, from, map, type OperatorFunction, pipe, tap, toArray } from "rxjs";
import type { AvroCodec } from "../avro/codec.js";
import type { WaitPolicy } from "../enrich/resolve.js";
import type { MaterializedTables } from "../enrich/tables.js";
import { batchWait, chunksOfBatch, joined } from "./chunks.js";
import type { ItemBatch, SourceBatch } from "./items.js";
import { type PublishDeps, type PublishedBatch, publish } from "./publish.js";
import { decode, encode, post, resolve, validate } from "./stages.js";

export interface TopologyDeps extends PublishDeps {
  codec: AvroCodec;
  tables: MaterializedTables;
  wait: WaitPolicy;
  voucherSchemaId: number;
  observe: (batch: PublishedBatch) => void;
}

/**
 * SPEC §2, one partition's batches at a time (kafkajs runs partitions concurrently and never
 * hands over a partition's next batch before this one is done, so order holds):
 *
 *   source batch ─► decode ─► validate ─► resolve ─► post ─► encode ─► publish ─► (commit, by the caller)
 *                   Avro,     field       CDC        pure     storable  finance.voucher
 *                   writer →  limits,     tables     posting  vouchers  + finance.posting.dlq
 *                   reader    rules       (waits)    rules              acks = all
 *                   └──────── in chunks of the batch (chunks.ts) ──────┘ └ the whole batch ┘
 *
 * Every failure that belongs to one record (UNDECODABLE, INVALID_PAYLOAD, UNRESOLVED,
 * CROSS_TENANT, and POSTING_FAILED for a defect that persists) rides along to `publish` as a
 * dead letter; an outage fails the batch, which is then retried from its uncommitted offset.
 */
export function postingTopology(deps: TopologyDeps): OperatorFunction<SourceBatch, PublishedBatch> {
  return pipe(
    concatMap((batch) => from(chunksOfBatch(batch)).pipe(postChunks(deps, batchWait(deps.wait)), toArray())),
    map(joined),
    concatMap((batch) => publish(deps, batch)),
    tap(deps.observe),
  );
}

/** decode → validate → resolve → post → encode, one chunk at a time, in order. */
function postChunks(deps: TopologyDeps, wait: () => WaitPolicy): OperatorFunction<SourceBatch, ItemBatch> {
  return pipe(
    concatMap((chunk) => decode(deps.codec, chunk)),
    map(validate),
    concatMap((chunk) => resolve(deps.tables, wait(), chunk)),
    map(post),
    map((chunk) => encode(deps.codec, deps.voucherSchemaId, deps.maxRecordBytes, chunk)),
  );
}
