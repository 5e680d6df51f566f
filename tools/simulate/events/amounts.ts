import { type Money, money } from "../../../src/money.js";
import type { Rng } from "../random.js";

/**
 * Amounts are handled as integers of 1/10,000 VND (exact in a double up to 9e11 VND), and
 * become decimal.js values only on the event.
 */

const UNIT = 10_000;

/** Whole dong in units. */
export const vnd = (dong: number) => dong * UNIT;

export function unitsToMoney(units: number): Money {
  if (units % UNIT === 0) return money(units / UNIT);
  const sign = units < 0 ? "-" : "";
  const abs = Math.abs(units);
  return money(`${sign}${Math.floor(abs / UNIT)}.${String(abs % UNIT).padStart(4, "0")}`);
}

/** Log-uniform amount in [lo, hi] dong, rounded to `step` dong; with chance `oddP` it keeps 4 decimals. */
export function amountUnits(rng: Rng, lo: number, hi: number, step: number, oddP: number): number {
  const x = Math.exp(Math.log(lo) + rng.float() * (Math.log(hi) - Math.log(lo)));
  if (rng.chance(oddP)) return Math.max(1, Math.round(x * UNIT));
  return vnd(Math.max(step, Math.round(x / step) * step));
}

/** Splits `total` into n positive parts, the first n-1 rounded to `step` dong. */
export function splitUnits(rng: Rng, total: number, n: number, step: number): number[] {
  const stepUnits = vnd(step);
  if (n <= 1 || total < stepUnits * (n + 1)) return [total];
  const parts: number[] = [];
  let left = total;
  for (let i = 0; i < n - 1; i++) {
    const share = 0.2 + rng.float() * 0.6;
    let part = Math.floor((left * share) / (n - 1 - i) / stepUnits) * stepUnits;
    part = Math.max(stepUnits, Math.min(part, left - stepUnits * (n - 1 - i)));
    parts.push(part);
    left -= part;
  }
  parts.push(left);
  return parts;
}
