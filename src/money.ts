import { Decimal } from "decimal.js";

/**
 * Money is exact decimal with 4 places, from decode to Postgres. A dedicated Decimal
 * constructor keeps our precision settings from leaking into (or being changed by) other
 * users of decimal.js in the process.
 */
export const Money = Decimal.clone({
  precision: 60,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Money = Decimal;

export const MONEY_SCALE = 4;
/** numeric(19,4): 15 integer digits. */
export const MONEY_MAX_ABS = new Money("999999999999999.9999");
const MONEY_MIN = MONEY_MAX_ABS.negated();

export const ZERO: Money = new Money(0);

export function money(value: Decimal.Value): Money {
  return new Money(value);
}

export function isMoney(value: unknown): value is Money {
  return Decimal.isDecimal(value);
}

/** Why an amount is not acceptable money, or null when it is. */
export function moneyDefect(value: unknown): string | null {
  if (!isMoney(value)) return "is not a decimal";
  // A safe integer of ten-thousandths is finite, has at most 4 places and is far inside
  // numeric(19,4): the common case settled without four decimal.js operations.
  if (scaledSafeInteger(value, MONEY_SCALE) !== null) return null;
  if (!value.isFinite()) return "is not finite";
  if (value.decimalPlaces() > MONEY_SCALE) return `has more than ${MONEY_SCALE} decimal places`;
  // Two comparisons rather than abs(): this runs for every amount, and abs() allocates.
  if (value.greaterThan(MONEY_MAX_ABS) || value.lessThan(MONEY_MIN)) return "exceeds numeric(19,4)";
  return null;
}

export function sum(values: Iterable<Money>): Money {
  let total = ZERO;
  for (const v of values) total = total.plus(v);
  return total;
}

/** Canonical text with exactly 4 places, as Postgres numeric(19,4) prints it. */
export function formatMoney(value: Money): string {
  return value.toFixed(MONEY_SCALE);
}

/** 10^0 … 10^15: the powers of ten a double holds exactly. */
export const POW10: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);
const digits7 = (w: number) =>
  w < 10 ? 1 : w < 100 ? 2 : w < 1_000 ? 3 : w < 10_000 ? 4 : w < 100_000 ? 5 : w < 1_000_000 ? 6 : 7;

/**
 * value × 10^scale as an exact safe integer, read from decimal.js' documented representation
 * (`d`: base-1e7 words, most significant first, every word after the first 7 digits long;
 * `e`: decimal exponent of the first digit; `s`: sign) without strings or BigInt; null when it
 * is not a safe integer (too large, more places than `scale`, not finite), for the exact slow
 * path to handle or refuse. The last word's trailing zeros are only its padding (123456789.0001
 * ends in the word 0001000), so they are dropped before the digits are put together.
 */
export function scaledSafeInteger(value: Money, scale: number): number | null {
  const d = value.d;
  if (!d || d.length > 3 || scale > 15) return null;
  const n = d.length;
  let last = d[n - 1] as number;
  let padding = 0;
  while (last !== 0 && last % 10 === 0) {
    last /= 10;
    padding++;
  }
  const lastDigits = (n === 1 ? digits7(d[0] as number) : 7) - padding;
  let v = 0;
  for (let i = 0; i < n - 1; i++) v = v * 1e7 + (d[i] as number);
  v = v * (POW10[lastDigits] as number) + last;
  if (v > Number.MAX_SAFE_INTEGER) return null;
  const digits = (n === 1 ? 0 : digits7(d[0] as number) + 7 * (n - 2)) + lastDigits;
  const shift = value.e + 1 - digits + scale;
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
