import avro from "avsc";
import { DecimalType } from "./decimal-type.js";

/** The part of avsc's (untyped) Tap a long's read and write use. */
interface LongTap {
  pos: number;
  readLong(): number;
  writeLong(n: number): void;
}

/** A type's own `_read`/`_write`, which avsc's typings leave out. */
interface TapCodec {
  _read(tap: LongTap): unknown;
  _write(tap: LongTap, value: unknown): void;
}

/**
 * Below this magnitude avsc's varint arithmetic on doubles is exact both ways (its zig-zag
 * value stays under 2^53); larger values take the exact 8-byte path.
 */
const EXACT_IN_DOUBLES = 2 ** 52;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro `long` that never refuses a value: a safe integer decodes as a number, anything larger
 * as a bigint, so an out-of-range timestamp reaches validation (INVALID_PAYLOAD with a precise
 * message) instead of failing the decode. avsc's own long throws "potential precision loss".
 */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE();
    return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n;
  },
  toBuffer: (n: number | bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number) => n,
  toJSON: (n: number | bigint) => Number(n),
  isValid: (n: unknown) => (typeof n === "number" && Number.isSafeInteger(n)) || typeof n === "bigint",
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});
const exactPath = exactLong as unknown as TapCodec;

/**
 * Every long of every record goes through this type (timestamps, offsets), and the exact
 * path allocates an 8-byte buffer and a BigInt per value: longs within ±2^52 are read and
 * written as avsc's plain long does, the rest exactly. Same bytes, same values (unit test).
 * (avsc freezes its types, so the fast methods sit on an object that inherits the rest.)
 */
export const WideLongType: avro.Type = Object.freeze(
  Object.create(exactLong, {
    _read: {
      value(this: avro.Type, tap: LongTap): unknown {
        const start = tap.pos;
        const n = tap.readLong();
        if (n > -EXACT_IN_DOUBLES && n < EXACT_IN_DOUBLES) return n;
        tap.pos = start;
        return exactPath._read.call(this, tap);
      },
    },
    _write: {
      value(this: avro.Type, tap: LongTap, value: unknown): void {
        if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) < EXACT_IN_DOUBLES) {
          tap.writeLong(value);
        } else exactPath._write.call(this, tap, value);
      },
    },
  }),
);

/**
 * `{"type": "long", "logicalType": …}` as plain "long": avsc builds such an object's type
 * directly, past the registry, so only the plain name gets WideLongType. Timestamps stay
 * epoch millis either way (no timestamp logical type is registered).
 */
function plainLongs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plainLongs);
  if (schema === null || typeof schema !== "object") return schema;
  const o = schema as Record<string, unknown>;
  // (a field `{"name": …, "type": "long"}` is no type: it keeps its name)
  if (o.type === "long" && !("name" in o)) return "long";
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plainLongs(v)]));
}

/**
 * The project's own schema for a subject, as the type a writer's data is resolved to
 * (CONTRACTS "Schema evolution"): decimals as decimal.js, longs that never throw.
 */
export function readerType(schema: object): avro.Type {
  return avro.Type.forSchema(plainLongs(schema) as avro.Schema, {
    logicalTypes: { decimal: DecimalType },
    registry: { long: WideLongType },
  });
}
