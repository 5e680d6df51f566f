import avro from "avsc";
import type { IHeaders } from "kafkajs";
import { encodeUnscaled } from "../../../src/avro/decimal-type.js";
import { isMoney, type Money, money } from "../../../src/money.js";

/**
 * Byte-level Avro for the fuzz corpus: values are written with the writer schema's *wire*
 * shape (decimals as their raw bytes, timestamps as any 64-bit long), so the corpus can hold
 * what a well-behaved encoder would refuse to write — a decimal of any size or scale, a
 * timestamp beyond 2^53, invalid UTF-8 inside an Avro string.
 */

/** A decimal field's bytes exactly as given (e.g. a 64 KB two's-complement integer). */
export class RawBytes {
  constructor(readonly bytes: Buffer) {}
}

/** An Avro string whose bytes are not valid UTF-8; a reader decodes it as `text` (U+FFFD for each bad sequence). */
export class RawUtf8 {
  constructor(readonly bytes: Buffer) {}
  get text(): string {
    return this.bytes.toString("utf8");
  }
}

/** A long that reads and writes every signed 64-bit value (avsc's own refuses beyond 2^53). */
const BIG_LONG = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: unknown) => BigInt(n as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === "bigint" || Number.isInteger(n),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

const PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);

/** The schema as the bytes see it: logical types dropped (decimal → bytes, timestamp-millis → long). */
export function wireSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(wireSchema);
  if (schema === null || typeof schema !== "object") return schema;
  const s = schema as Record<string, unknown>;
  // A primitive type written as an object (fields, which have a name, are kept).
  if (typeof s.type === "string" && PRIMITIVES.has(s.type) && !("name" in s)) return s.type;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "logicalType") continue;
    out[k] = k === "default" ? v : wireSchema(v);
  }
  return out;
}

const wireTypes = new Map<string, avro.Type>();

function wireTypeOf(schema: unknown): avro.Type {
  const json = JSON.stringify(schema);
  let type = wireTypes.get(json);
  if (!type) {
    // avsc records named types in the registry it is given: a fresh one per schema.
    type = avro.Type.forSchema(wireSchema(schema) as avro.Schema, { registry: { long: BIG_LONG } });
    wireTypes.set(json, type);
  }
  return type;
}

/** `value × 10^scale` as Avro decimal bytes; the value must have at most `scale` places. */
export function decimalBytes(value: Money, scale: number): Buffer {
  const unscaled = value.times(money(10).pow(scale));
  if (!unscaled.isInteger())
    throw new Error(`fuzz harness: ${value.toString()} has more than ${scale} places`);
  return encodeUnscaled(BigInt(unscaled.toFixed(0)));
}

interface Patch {
  placeholder: Buffer;
  bytes: Buffer;
}

/** The wire object for avsc: decimals → bytes at `scale`, raw strings → unique placeholders. */
function toWire(
  value: unknown,
  scale: number,
  patches: Patch[],
  placeholder: (n: number) => string,
): unknown {
  if (isMoney(value)) return decimalBytes(value, scale);
  if (value instanceof RawBytes) return value.bytes;
  if (value instanceof RawUtf8) {
    const p = placeholder(value.bytes.length);
    patches.push({ placeholder: Buffer.from(p), bytes: value.bytes });
    return p;
  }
  if (Buffer.isBuffer(value) || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => toWire(v, scale, patches, placeholder));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, toWire(v, scale, patches, placeholder)]),
  );
}

let placeholderSeq = 0;

/**
 * Avro binary of `value` under `schema` (no framing). Decimals are written at `scale`; a
 * RawUtf8 is written as its bytes (patched in after encoding, so avsc never sees them).
 */
export function avroBody(schema: unknown, value: unknown, scale = 4): Buffer {
  const patches: Patch[] = [];
  const placeholder = (n: number) => {
    const tag = `\u0001${(placeholderSeq++).toString(36)}\u0002`;
    if (n < tag.length + 2)
      throw new Error(`fuzz harness: raw strings need at least ${tag.length + 2} bytes`);
    return tag.padEnd(n, "\u0003");
  };
  const body = wireTypeOf(schema).toBuffer(toWire(value, scale, patches, placeholder));
  for (const p of patches) {
    const at = body.indexOf(p.placeholder);
    if (at < 0 || body.indexOf(p.placeholder, at + 1) >= 0)
      throw new Error("fuzz harness: placeholder not unique");
    p.bytes.copy(body, at);
  }
  return body;
}

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
export function frame(schemaId: number, body: Buffer, magic = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(magic, 0);
  header.writeInt32BE(schemaId | 0, 1);
  return Buffer.concat([header, body]);
}

/** Whether `body` decodes under `schema` at all (for generated garbage that must stay garbage). */
export function decodesAs(schema: unknown, body: Buffer): boolean {
  try {
    wireTypeOf(schema).fromBuffer(body);
    return true;
  } catch {
    return false;
  }
}

/** Header values as lists of bytes, whatever shape kafkajs was given or returned. */
export function headerBytes(headers: IHeaders): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    out.set(
      k,
      list.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(String(x)))),
    );
  }
  return out;
}

const zigzagSize = (n: number): number => {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
};

const bytesField = (b: Buffer | null) => (b === null ? zigzagSize(-1) : zigzagSize(b.length) + b.length);

/** Size of a one-record, uncompressed v2 record batch: what the broker compares with max.message.bytes. */
export function recordBatchBytes(key: Buffer | null, value: Buffer | null, headers: IHeaders): number {
  const hs = [...headerBytes(headers)].flatMap(([k, vs]) => vs.map((v) => [Buffer.from(k), v] as const));
  let body = 3; // attributes, timestampDelta 0, offsetDelta 0
  body += bytesField(key) + bytesField(value) + zigzagSize(hs.length);
  for (const [k, v] of hs) body += bytesField(k) + bytesField(v);
  return 61 + zigzagSize(body) + body;
}
