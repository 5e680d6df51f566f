import { concatMap, map, type OperatorFunction, pipe, tap } from "rxjs";
import type { AvroCodec } from "../avro/codec.js";
import type { WaitPolicy } from "../enrich/resolve.js";
import type { MaterializedTables } from "../enrich/tables.js";
import type { SourceBatch } from "./items.js";
import { type PublishedBatch, publish } from "./publish.js";
import type { RecordSender } from "./record-sender.js";
import { decode, post, resolve, validate } from "./stages.js";

export interface TopologyDeps {
  codec: AvroCodec;
  tables: MaterializedTables;
  wait: WaitPolicy;
  sender: RecordSender;
  voucherSchemaId: number;
  observe: (batch: PublishedBatch) => void;
}

/**
 * SPEC §2, one partition's batches at a time (kafkajs runs partitions concurrently and never
 * hands over a partition's next batch before this one is done, so order holds):
 *
 *   source batch ─► decode ─► validate ─► resolve ─► post ─► publish ─► (commit, by the caller)
 *                   Avro      payload     CDC        pure     finance.voucher
 *                   + writer  rules       tables     posting  + finance.posting.dlq
 *                   schema                (waits)    rules    acks = all
 *
 * Every failure that belongs to the event (UNDECODABLE, INVALID_PAYLOAD, UNRESOLVED,
 * CROSS_TENANT) rides along to `publish` as a dead letter; any other error fails the batch,
 * which is then retried from its uncommitted offset.
 */
export function postingTopology(d: TopologyDeps): OperatorFunction<SourceBatch, PublishedBatch> {
  return pipe(
    concatMap((batch) => decode(d.codec, batch)),
    map(validate),
    concatMap((batch) => resolve(d.tables, d.wait, batch)),
    map(post),
    concatMap((batch) => publish(d.sender, d.codec, d.voucherSchemaId, batch)),
    tap(d.observe),
  );
}
