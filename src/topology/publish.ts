import type { IHeaders, Message, TopicMessages } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import type { Origin } from "../domain/events.js";
import type { Skip, Voucher } from "../domain/voucher.js";
import type { DeadLetterReason, PostingError } from "../errors.js";
import { DLQ_TOPIC, VOUCHER_TOPIC } from "../topics.js";
import type { Item, ItemBatch } from "./items.js";
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
  vouchers: Voucher[];
  skips: Skip[];
  deadLetters: DeadLetter[];
}

/** Kafka Connect's error headers, so existing DLQ tooling understands ours. */
export function deadLetterHeaders(origin: Origin, error: PostingError): IHeaders {
  return {
    "__connect.errors.topic": origin.topic,
    "__connect.errors.partition": String(origin.partition),
    "__connect.errors.offset": String(origin.offset),
    "__connect.errors.exception.class.name": error.name,
    "__connect.errors.exception.message": error.message,
    "finance.dlq.reason": error.reason,
  };
}

export function deadLetterMessage(item: Item, error: PostingError): Message {
  return {
    key: item.record.key,
    value: item.record.value,
    headers: { ...item.record.headers, ...deadLetterHeaders(item.origin, error) },
  };
}

export const voucherMessage = (codec: AvroCodec, schemaId: number, v: Voucher): Message => ({
  key: v.merchantId,
  value: codec.encode(schemaId, v),
});

/**
 * Produces a batch's vouchers to finance.voucher and its failures to the dead-letter topic in
 * one acks=all request; the caller commits the source offsets only after this resolves.
 */
export async function publish(
  sender: RecordSender,
  codec: AvroCodec,
  voucherSchemaId: number,
  batch: ItemBatch,
): Promise<PublishedBatch> {
  const out: PublishedBatch = {
    topic: batch.topic,
    partition: batch.partition,
    nextOffset: batch.nextOffset,
    events: batch.items.length,
    vouchers: [],
    skips: [],
    deadLetters: [],
  };
  const dlq: Message[] = [];
  for (const item of batch.items) {
    const p = item.progress;
    if (p.stage === "posted") {
      out.vouchers.push(...p.result.vouchers);
      out.skips.push(...p.result.skips);
    } else if (p.stage === "failed") {
      dlq.push(deadLetterMessage(item, p.error));
      out.deadLetters.push({ origin: item.origin, reason: p.error.reason, message: p.error.message });
    } else {
      throw new Error(
        `record ${batch.topic}@${item.origin.offset} left the topology unfinished (${p.stage})`,
      );
    }
  }
  const topicMessages: TopicMessages[] = [];
  if (out.vouchers.length > 0) {
    topicMessages.push({
      topic: VOUCHER_TOPIC,
      messages: out.vouchers.map((v) => voucherMessage(codec, voucherSchemaId, v)),
    });
  }
  if (dlq.length > 0) topicMessages.push({ topic: DLQ_TOPIC, messages: dlq });
  await sender.send(topicMessages);
  return out;
}
