import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { ResolvedContext } from "../domain/context.js";
import type { Origin } from "../domain/events.js";
import type { PostingResult, Skip, VoucherKind } from "../domain/voucher.js";
import type { PostingError } from "../errors.js";
import type { PostingRule, SourceEvent } from "../rules/index.js";

/** One source record as read from Kafka; kept byte for byte for the dead-letter topic. */
export interface SourceRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  offset: string;
}

/** A kafkajs record as the topology keeps it. */
export const sourceRecordOf = (m: KafkaMessage): SourceRecord => ({
  key: m.key,
  value: m.value,
  headers: m.headers ?? {},
  offset: m.offset,
});

/**
 * What the holder of a batch may do while it works on it: heartbeat the group while waiting,
 * and stop waiting once `signal` aborts (a rebalance is pending, or a shutdown).
 */
export interface BatchHold {
  signal: AbortSignal;
  heartbeat: () => Promise<void>;
}

/** The records of one fetch from one partition: the unit the topology processes and commits. */
export interface SourceBatch {
  topic: string;
  partition: number;
  records: SourceRecord[];
  hold?: BatchHold;
}

/** Where one record has got to on its way through the stages. */
export type ItemState =
  | { stage: "read" }
  | { stage: "decoded"; event: SourceEvent; rule: PostingRule<SourceEvent> }
  | { stage: "validated"; event: SourceEvent; rule: PostingRule<SourceEvent> }
  | { stage: "resolved"; event: SourceEvent; rule: PostingRule<SourceEvent>; ctx: ResolvedContext }
  | { stage: "posted"; event: SourceEvent; result: PostingResult }
  /**
   * The result's vouchers as finance.voucher records, checked storable and small enough, with
   * their kinds (for metrics) and the skips. The voucher objects are let go here, within the
   * chunk, rather than held with the batch until it is published.
   */
  | { stage: "encoded"; messages: Message[]; kinds: VoucherKind[]; skips: Skip[] }
  | { stage: "failed"; error: PostingError };

export interface Item {
  record: SourceRecord;
  origin: Origin;
  state: ItemState;
}

export interface ItemBatch {
  topic: string;
  partition: number;
  items: Item[];
  /** Offset to commit once the batch's output is acknowledged. */
  nextOffset: string;
  hold?: BatchHold;
}
