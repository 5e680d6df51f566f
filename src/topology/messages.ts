import type { Message } from "kafkajs";
import type { AvroCodec } from "../avro/codec.js";
import type { Voucher } from "../domain/voucher.js";

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
