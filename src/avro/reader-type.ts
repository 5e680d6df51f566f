import avro from "avsc";
import { DecimalType } from "./decimal-type.js";

/**
 * Avro `long` that never refuses a value: a safe integer decodes as a number, anything larger
 * as a bigint, so an out-of-range timestamp reaches validation (INVALID_PAYLOAD with a precise
 * message) instead of failing the decode. avsc's own long throws "potential precision loss".
 */
export const WideLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE();
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
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
