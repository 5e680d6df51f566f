import avro from "avsc";
import { isMoney, Money, money } from "../money.js";

/**
 * Avro `decimal` logical type on `bytes`, mapped to decimal.js: the unscaled value is a
 * big-endian two's-complement integer, as the Java Avro library and Debezium write it.
 * Encoding never rounds: a value that needs more places than the schema's scale, or more
 * digits than its precision, is refused.
 */
export class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;
  private readonly precision: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const s = schema as { precision?: number; scale?: number };
    this.precision = s.precision ?? 0;
    this.scale = s.scale ?? 0;
    if (!Number.isInteger(this.precision) || this.precision < 1)
      throw new Error("decimal: invalid precision");
    if (!Number.isInteger(this.scale) || this.scale < 0 || this.scale > this.precision) {
      throw new Error("decimal: invalid scale");
    }
  }

  override _fromValue(value: unknown): Money {
    return decodeUnscaled(value as Buffer).div(new Money(10).pow(this.scale));
  }

  override _toValue(value: unknown): Buffer {
    if (!isMoney(value)) throw new Error(`decimal: expected a Decimal, got ${typeof value}`);
    if (!value.isFinite()) throw new Error("decimal: value is not finite");
    if (value.decimalPlaces() > this.scale) {
      throw new Error(`decimal: ${value.toString()} has more than ${this.scale} decimal places`);
    }
    const unscaled = BigInt(value.times(new Money(10).pow(this.scale)).toFixed(0));
    if (unscaled.toString().replace("-", "").length > this.precision) {
      throw new Error(`decimal: ${value.toString()} exceeds precision ${this.precision}`);
    }
    return encodeUnscaled(unscaled);
  }

  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "logical:decimal")) {
      const other = type as unknown as DecimalType;
      if (other.scale === this.scale) return (v) => v;
    }
    return undefined;
  }

  override _export(schema: avro.Schema): void {
    const attrs = schema as { precision?: number; scale?: number };
    attrs.precision = this.precision;
    attrs.scale = this.scale;
  }
}

export function decodeUnscaled(buf: Buffer): Money {
  if (buf.length === 0) return money(0);
  let n = 0n;
  for (const byte of buf) n = (n << 8n) | BigInt(byte);
  if ((buf[0] ?? 0) & 0x80) n -= 1n << BigInt(buf.length * 8);
  return money(n.toString());
}

/** Minimal-length big-endian two's complement, like java.math.BigInteger#toByteArray. */
export function encodeUnscaled(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    const signBitSet = (byte & 0x80) !== 0;
    if ((v === 0n && !signBitSet) || (v === -1n && signBitSet)) break;
  }
  return Buffer.from(bytes);
}
