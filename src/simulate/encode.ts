import avro from "avsc";
import { encodeUnscaled } from "../avro/decimal-type.js";
import { isMoney, type Money } from "../money.js";
import { loadSchema } from "../schemas.js";
import {
  ALL_CDC_TOPICS,
  ALL_SOURCE_TOPICS,
  type CdcTopic,
  keySubject,
  type SourceTopic,
  valueSubject,
} from "../topics.js";
import type { CdcItem, EventItem } from "./dataset.js";

/** Registry ids of the contract schemas the simulator writes with. */
export interface SchemaIds {
  value: Record<SourceTopic | CdcTopic, number>;
  key: Record<CdcTopic, number>;
}

/** Every topic the simulator writes, in a fixed order: a batch names topics by index. */
export const SIM_TOPICS: readonly (SourceTopic | CdcTopic)[] = [...ALL_SOURCE_TOPICS, ...ALL_CDC_TOPICS];

/**
 * Encoded messages packed in one ArrayBuffer (so a worker thread can hand it over without a
 * copy). `meta` holds 6 int32 per message: topic index in SIM_TOPICS, partition, key offset,
 * key length, value offset, value length.
 */
export interface EncodedBatch {
  count: number;
  buffer: ArrayBuffer;
  meta: Int32Array;
  bytes: number;
}

export const META_FIELDS = 6;

/**
 * Avro `decimal` for the publisher's hot path. It writes exactly the bytes of
 * src/avro/decimal-type.ts (minimal big-endian two's complement of the unscaled value, never
 * rounding) but computes the unscaled value from decimal.js' digits in exact safe-integer
 * arithmetic when it fits, instead of strings and BigInt on every amount. The codec's type is
 * about 3× slower, which matters at a million events.
 */
export class PublishDecimalType extends avro.types.LogicalType {
  private readonly scale: number;
  private readonly precision: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const s = schema as { precision?: number; scale?: number };
    this.precision = s.precision ?? 0;
    this.scale = s.scale ?? 0;
  }

  override _fromValue(value: unknown): unknown {
    return value;
  }

  override _toValue(value: unknown): Buffer {
    if (!isMoney(value)) throw new Error(`decimal: expected a Decimal, got ${typeof value}`);
    const fast = this.scale <= 4 ? unscaledFast(value, this.scale) : null;
    if (fast !== null && (this.precision >= 16 || Math.abs(fast) < 10 ** this.precision)) {
      return encodeSafeInteger(fast);
    }
    if (!value.isFinite()) throw new Error("decimal: value is not finite");
    if (value.decimalPlaces() > this.scale) {
      throw new Error(`decimal: ${value.toString()} has more than ${this.scale} decimal places`);
    }
    const unscaled = value.toFixed(this.scale).replace(".", "");
    if (unscaled.replace("-", "").length > this.precision) {
      throw new Error(`decimal: ${value.toString()} exceeds precision ${this.precision}`);
    }
    return encodeUnscaled(BigInt(unscaled));
  }
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
const digits7 = (w: number) =>
  w < 10 ? 1 : w < 100 ? 2 : w < 1_000 ? 3 : w < 10_000 ? 4 : w < 100_000 ? 5 : w < 1_000_000 ? 6 : 7;

/**
 * value × 10^scale as an exact safe integer, read from decimal.js' documented representation
 * (`d`: base-1e7 words, most significant first; `e`: decimal exponent of the first digit; `s`:
 * sign) without going through strings; null when it is not a safe integer (too large, more
 * places than `scale`, not finite), for the exact slow path to handle or refuse.
 */
function unscaledFast(value: Money, scale: number): number | null {
  const d = value.d;
  if (!d || d.length > 3) return null;
  let v = 0;
  for (const w of d) v = v * 1e7 + w;
  if (v > Number.MAX_SAFE_INTEGER) return null;
  const shift = value.e + 1 - (digits7(d[0] as number) + 7 * (d.length - 1)) + scale;
  let u: number;
  if (shift >= 0) {
    if (shift > 15) return null;
    u = v * (POW10[shift] as number);
  } else {
    if (-shift > 15) return null;
    const p = POW10[-shift] as number;
    if (v % p !== 0) return null;
    u = v / p;
  }
  if (u > Number.MAX_SAFE_INTEGER) return null;
  return value.s < 0 ? -u : u;
}

/** Minimal-length big-endian two's complement of a safe integer (as BigInteger#toByteArray). */
export function encodeSafeInteger(n: number): Buffer {
  let length = 1;
  let limit = 128;
  while (n >= limit || n < -limit) {
    length++;
    limit *= 256;
  }
  const out = Buffer.allocUnsafe(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    const byte = ((v % 256) + 256) % 256;
    out[i] = byte;
    v = (v - byte) / 256;
  }
  return out;
}

/** Kafka's murmur2 (the Java client's and kafkajs' DefaultPartitioner), on 32-bit ints. */
export function murmur2(data: Uint8Array, offset = 0, length = data.length): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const end4 = offset + (length & ~3);
  for (let i = offset; i < end4; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[end4 + 2] as number) << 16;
  if (rest >= 2) h ^= (data[end4 + 1] as number) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[end4] as number), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a key. */
export const partitionOf = (key: Uint8Array, partitions: number, offset = 0, length = key.length) =>
  (murmur2(key, offset, length) & 0x7fffffff) % partitions;

const typeOf = (subject: string) =>
  avro.Type.forSchema(
    loadSchema(subject) as avro.Schema,
    {
      logicalTypes: { decimal: PublishDecimalType },
    } as Partial<avro.ForSchemaOptions>,
  );

const HEADER = 5;

/**
 * Encodes data set items into the Confluent wire format (magic 0, schema id, Avro binary) with
 * the contract schemas, packing a batch of messages, with their partitions, into one buffer.
 */
export class DatasetEncoder {
  private readonly values: ({ id: number; type: avro.Type } | undefined)[];
  private readonly keys: ({ id: number; type: avro.Type } | undefined)[];
  private readonly topicIndex = new Map<string, number>();
  private readonly partitions: number[];
  private buf: Buffer;
  private pos = 0;
  private meta: Int32Array;
  private count = 0;

  /** `partitions`: partition count of each topic (as the broker has it). */
  constructor(
    ids: SchemaIds,
    partitions: Readonly<Record<string, number>>,
    private readonly batchSize = 5_000,
  ) {
    SIM_TOPICS.forEach((t, i) => {
      this.topicIndex.set(t, i);
    });
    this.values = SIM_TOPICS.map((t) => ({ id: ids.value[t], type: typeOf(valueSubject(t)) }));
    this.keys = SIM_TOPICS.map((t) =>
      (ALL_CDC_TOPICS as readonly string[]).includes(t)
        ? { id: ids.key[t as CdcTopic], type: typeOf(keySubject(t)) }
        : undefined,
    );
    this.partitions = SIM_TOPICS.map((t) => {
      const n = partitions[t];
      if (!n || n < 1) throw new Error(`partition count of ${t} unknown`);
      return n;
    });
    this.buf = this.newBuffer(batchSize * 320);
    this.meta = new Int32Array(batchSize * META_FIELDS);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.batchSize;
  }

  event(item: EventItem): void {
    const t = this.index(item.topic);
    const keyStart = this.pos;
    const keyLength = this.writeUtf8(item.key);
    const valueStart = this.pos;
    const valueLength =
      item.raw !== null ? this.writeBytes(item.raw) : this.writeAvro(this.values[t], item.event);
    this.push(t, keyStart, keyLength, valueStart, valueLength);
  }

  cdc(item: CdcItem): void {
    const t = this.index(item.topic);
    const keyStart = this.pos;
    const keyLength = this.writeAvro(this.keys[t], item.key);
    const valueStart = this.pos;
    const valueLength = this.writeAvro(this.values[t], item.value);
    this.push(t, keyStart, keyLength, valueStart, valueLength);
  }

  /** Hands over the messages encoded so far and starts a new batch. */
  take(): EncodedBatch {
    const batch: EncodedBatch = {
      count: this.count,
      buffer: this.buf.buffer as ArrayBuffer,
      meta: this.meta.slice(0, this.count * META_FIELDS),
      bytes: this.pos,
    };
    this.buf = this.newBuffer(Math.max(this.buf.length, 1024));
    this.pos = 0;
    this.count = 0;
    return batch;
  }

  private index(topic: string): number {
    const i = this.topicIndex.get(topic);
    if (i === undefined) throw new Error(`not a simulated topic: ${topic}`);
    return i;
  }

  private push(
    t: number,
    keyStart: number,
    keyLength: number,
    valueStart: number,
    valueLength: number,
  ): void {
    const at = this.count * META_FIELDS;
    this.meta[at] = t;
    this.meta[at + 1] = partitionOf(this.buf, this.partitions[t] as number, keyStart, keyLength);
    this.meta[at + 2] = keyStart;
    this.meta[at + 3] = keyLength;
    this.meta[at + 4] = valueStart;
    this.meta[at + 5] = valueLength;
    this.count++;
  }

  private writeUtf8(s: string): number {
    this.ensure(s.length * 3);
    const n = this.buf.write(s, this.pos, "utf8");
    this.pos += n;
    return n;
  }

  private writeBytes(b: Uint8Array): number {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return b.length;
  }

  private writeAvro(t: { id: number; type: avro.Type } | undefined, record: unknown): number {
    if (!t) throw new Error("no schema for this record");
    this.ensure(HEADER + 1024);
    for (;;) {
      const start = this.pos;
      this.buf[start] = 0;
      this.buf.writeInt32BE(t.id, start + 1);
      const end = t.type.encode(record, this.buf, start + HEADER);
      if (end >= 0) {
        this.pos = end;
        return end - start;
      }
      // avsc answers minus the bytes it lacked when the record does not fit.
      this.ensure(this.buf.length - start - end + HEADER);
    }
  }

  /** Grows the batch buffer (copying what is in it: offsets stay valid) to fit `bytes` more. */
  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = this.newBuffer(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A buffer owning its whole ArrayBuffer (never a slice of Node's shared pool), so it can be transferred. */
  private newBuffer(size: number): Buffer {
    return Buffer.from(new ArrayBuffer(size));
  }
}
