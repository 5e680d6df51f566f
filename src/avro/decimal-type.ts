import avro from "avsc";
import { isMoney, MONEY_SCALE, Money, money, POW10, scaledSafeInteger } from "../money.js";

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
    const bytes = value as Buffer;
    // Most amounts are whole and below 10^7 (VND): decimal.js takes such a number as it is,
    // without the text and parsing the general path needs.
    const unit = POW10[this.scale];
    if (unit !== undefined && bytes.length > 0 && bytes.length <= 6) {
      const unscaled = bytes.readIntBE(0, bytes.length);
      if (unscaled % unit === 0 && Math.abs(unscaled) < 1e7 * unit) return money(unscaled / unit);
    }
    return money(withScale(unscaledText(bytes), this.scale));
  }

  override _toValue(value: unknown): Buffer {
    if (!isMoney(value)) throw new Error(`decimal: expected a Decimal, got ${typeof value}`);
    const fast = scaledSafeInteger(value, this.scale);
    if (fast !== null && (this.precision >= 16 || Math.abs(fast) < 10 ** this.precision)) {
      return encodeSafeInteger(fast);
    }
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

  /**
   * A writer's decimal of any scale or precision is read exactly (its value keeps the writer's
   * scale; validation then refuses more places or digits than money allows), and plain bytes
   * are read as this type's unscaled value, as Avro's logical-type resolution prescribes.
   */
  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "logical:decimal")) return (v) => v;
    if (avro.Type.isType(type, "bytes")) return (v) => this._fromValue(v);
    return undefined;
  }

  override _export(schema: avro.Schema): void {
    const attrs = schema as { precision?: number; scale?: number };
    attrs.precision = this.precision;
    attrs.scale = this.scale;
  }
}

/**
 * Avro `decimal` decoded to money's exact text, for a reader that only copies amounts (the
 * sink): 4 places, as numeric(19,4) prints and formatMoney writes — or, from a writer of more
 * places that are not all zero, the exact text with them all, which the sink's check refuses.
 * No decimal.js and no JS number: the unscaled bytes become the text directly. Decode only.
 */
export class MoneyTextType extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const scale = (schema as { scale?: number }).scale ?? 0;
    if (!Number.isInteger(scale) || scale < 0) throw new Error("decimal: invalid scale");
    this.scale = scale;
  }

  override _fromValue(value: unknown): string {
    return moneyText(unscaledText(value as Buffer), this.scale);
  }

  override _toValue(): never {
    throw new Error("decimal: MoneyTextType only decodes");
  }

  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "bytes")) return (v) => this._fromValue(v);
    return undefined;
  }
}

/** An unscaled integer's text at `scale` as money's text (see MoneyTextType). */
export function moneyText(unscaled: string, scale: number): string {
  if (scale === MONEY_SCALE) return withScale(unscaled, scale);
  if (scale < MONEY_SCALE)
    return withScale(unscaled === "0" ? "0" : unscaled + "0".repeat(MONEY_SCALE - scale), MONEY_SCALE);
  const exact = withScale(unscaled, scale);
  const extra = exact.slice(exact.length - (scale - MONEY_SCALE));
  return /^0+$/.test(extra) ? exact.slice(0, exact.length - extra.length) : exact;
}

/** "-12345" with scale 4 → "-1.2345": the exact decimal text of an unscaled integer. */
export function withScale(unscaled: string, scale: number): string {
  if (scale === 0) return unscaled;
  const negative = unscaled.startsWith("-");
  const digits = (negative ? unscaled.slice(1) : unscaled).padStart(scale + 1, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
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

export function decodeUnscaled(buf: Buffer): Money {
  return money(unscaledText(buf));
}

/** The unscaled integer of a decimal's bytes (big-endian two's complement) as decimal text. */
function unscaledText(buf: Buffer): string {
  if (buf.length === 0) return "0";
  // Up to 6 bytes the unscaled value is an exact safe integer: no BigInt, no division.
  if (buf.length <= 6) return String(buf.readIntBE(0, buf.length));
  // Parsed from hex in one go: shifting a BigInt byte by byte is quadratic in the length, and a
  // hostile decimal of 64 KB took 0.4 s a field (0.03 s so; the fuzz test prints it per class).
  let n = BigInt(`0x${buf.toString("hex")}`);
  if ((buf[0] ?? 0) & 0x80) n -= 1n << BigInt(buf.length * 8);
  return n.toString();
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
