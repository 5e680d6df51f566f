import type { IHeaders, Message } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import type { Origin } from "../domain/events.js";
import type { Voucher } from "../domain/voucher.js";
import type { PostingError } from "../errors.js";
import { REASON_HEADER } from "../topics.js";
import type { Item } from "./items.js";

/** A dead letter kept whole in Postgres only, because with its headers it exceeds the topic's limit. */
export const OVERSIZE_HEADER = "finance.dlq.oversize";

/** Kafka Connect's error headers, so existing DLQ tooling understands ours. */
export function deadLetterHeaders(origin: Origin, error: PostingError): IHeaders {
  return {
    "__connect.errors.topic": origin.topic,
    "__connect.errors.partition": String(origin.partition),
    "__connect.errors.offset": String(origin.offset),
    "__connect.errors.exception.class.name": error.name,
    "__connect.errors.exception.message": error.message,
    [REASON_HEADER]: error.reason,
  };
}

/** The source record byte for byte, with the error headers added (ours win over look-alikes). */
export function deadLetterMessage(item: Item, error: PostingError): Message {
  return {
    key: item.record.key,
    value: item.record.value,
    headers: { ...item.record.headers, ...deadLetterHeaders(item.origin, error) },
  };
}

/**
 * Stands in on the dead-letter topic for a dead letter kept in Postgres only: its key and the
 * error headers, saying how large the whole record was.
 */
export function oversizeStub(item: Item, error: PostingError, bytes: number): Message {
  return {
    key: item.record.key,
    value: null,
    headers: { ...deadLetterHeaders(item.origin, error), [OVERSIZE_HEADER]: String(bytes) },
  };
}

export const voucherMessage = (codec: AvroCodec, schemaId: number, v: Voucher): Message => ({
  key: v.merchantId,
  value: codec.encode(schemaId, v),
});

const RECORD_OVERHEAD = 32;
const HEADER_OVERHEAD = 12;

const bytesOf = (v: Buffer | string | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.length;

/**
 * An upper bound of a record's size in a Kafka record batch (key, value, every header, and
 * the varints around them), to compare with the topic's max.message.bytes before producing.
 */
export function recordBytes(m: Message): number {
  let n = RECORD_OVERHEAD + bytesOf(m.key) + bytesOf(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) n += HEADER_OVERHEAD + bytesOf(name) + bytesOf(v);
  }
  return n;
}
