import type { Message, TopicMessages } from "kafkajs";
import { deadLetterMessage, oversizeStub } from "../deadletter/headers.js";
import { type DeadLetterRecord, deadLetterAt } from "../deadletter/records.js";
import type { Origin } from "../domain/events.js";
import type { Skip, VoucherKind } from "../domain/voucher.js";
import type { DeadLetterReason, PostingError } from "../errors.js";
import { DLQ_TOPIC, VOUCHER_TOPIC } from "../topics.js";
import type { Item, ItemBatch } from "./items.js";
import { recordBytes } from "./messages.js";
import type { RecordSender } from "./record-sender.js";

export interface DeadLetter {
  origin: Origin;
  reason: DeadLetterReason;
  message: string;
}

/** A batch whose vouchers and dead letters the broker has acknowledged (acks = all). */
export interface PublishedBatch {
  topic: string;
  partition: number;
  nextOffset: string;
  events: number;
  /** The kind of each voucher published. */
  voucherKinds: VoucherKind[];
  skips: Skip[];
  deadLetters: DeadLetter[];
}

export interface PublishDeps {
  sender: RecordSender;
  /** The largest record the dead-letter topic takes (its max.message.bytes, less a margin). */
  maxRecordBytes: number;
  /** Stores dead letters too large for the topic straight into finance.dead_letter. */
  keepOversized: (records: DeadLetterRecord[]) => Promise<void>;
}

/** The source record as its dead letter in finance.dead_letter, at its own place, byte for byte. */
const oversized = ({ record, origin }: Item, error: PostingError): DeadLetterRecord =>
  deadLetterAt({ ...record, topic: origin.topic, partition: origin.partition }, error.reason, error.message);

/**
 * Produces a batch's vouchers to finance.voucher and its failures to the dead-letter topic in
 * acks=all requests; the caller commits the source offsets only after this resolves. A dead
 * letter too large for its topic is stored in Postgres first, and a stub stands in for it.
 */
export async function publish(deps: PublishDeps, batch: ItemBatch): Promise<PublishedBatch> {
  const out: PublishedBatch = {
    topic: batch.topic,
    partition: batch.partition,
    nextOffset: batch.nextOffset,
    events: batch.items.length,
    voucherKinds: [],
    skips: [],
    deadLetters: [],
  };
  const vouchers: Message[] = [];
  const dlq: Message[] = [];
  const tooLarge: DeadLetterRecord[] = [];
  for (const item of batch.items) {
    const p = item.state;
    if (p.stage === "encoded") {
      for (const kind of p.kinds) out.voucherKinds.push(kind);
      for (const skip of p.skips) out.skips.push(skip);
      for (const message of p.messages) vouchers.push(message);
    } else if (p.stage === "failed") {
      const message = deadLetterMessage(item, p.error);
      const bytes = recordBytes(message);
      if (bytes <= deps.maxRecordBytes) dlq.push(message);
      else {
        tooLarge.push(oversized(item, p.error));
        dlq.push(oversizeStub(item, p.error, bytes));
      }
      out.deadLetters.push({ origin: item.origin, reason: p.error.reason, message: p.error.message });
    } else {
      throw new Error(
        `record ${batch.topic}@${item.origin.offset} left the topology unfinished (${p.stage})`,
      );
    }
  }
  if (tooLarge.length > 0) await deps.keepOversized(tooLarge);
  const topicMessages: TopicMessages[] = [];
  if (vouchers.length > 0) topicMessages.push({ topic: VOUCHER_TOPIC, messages: vouchers });
  if (dlq.length > 0) topicMessages.push({ topic: DLQ_TOPIC, messages: dlq });
  await deps.sender.send(topicMessages);
  return out;
}
