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
