import type { EventEnvelope } from "../domain/events.js";
import { InvalidPayloadError } from "../errors.js";
import { type Money, moneyDefect } from "../money.js";

/**
 * Validation shared by the posting rules (SPEC §3, §6). Every check runs against the
 * whole event before anything is posted: one bad part makes the whole event invalid.
 * Checks are defensive about runtime types because a writer schema may differ from ours.
 */

function invalid(message: string): never {
  throw new InvalidPayloadError(message);
}

/** A required identifier: a string with something in it besides whitespace. */
export function requireId(value: unknown, field: string): string {
  if (typeof value !== "string") invalid(`${field} is not a string`);
  if (value.trim().length === 0) invalid(`${field} is empty`);
  return value;
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") invalid(`${field} is not a string`);
  return value;
}

/** A string that may be null (e.g. an optional code or note). */
export function requireOptionalString(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : requireString(value, field);
}

/** Exact money: finite, at most 4 places, within numeric(19,4). Any sign. */
export function requireMoney(value: unknown, field: string): Money {
  const defect = moneyDefect(value);
  if (defect !== null) invalid(`${field} ${defect}`);
  return value as Money;
}

export function requireNonNegative(value: unknown, field: string): Money {
  const m = requireMoney(value, field);
  if (m.isNegative() && !m.isZero()) invalid(`${field} is negative (${m.toString()})`);
  return m;
}

/** A ledger line amount must be > 0, so whatever becomes one must be too. */
export function requirePositive(value: unknown, field: string): Money {
  const m = requireMoney(value, field);
  if (!m.greaterThan(0)) invalid(`${field} must be positive (${m.toString()})`);
  return m;
}

export function requireArray<T>(value: T[] | unknown, field: string): T[] {
  if (!Array.isArray(value)) invalid(`${field} is not an array`);
  return value as T[];
}

/** Uids name sub-documents in idempotency keys: two alike would collapse into one voucher. */
export function requireUnique(values: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) invalid(`${field} has duplicate ${JSON.stringify(v)}`);
    seen.add(v);
  }
}

export function validateEnvelope(e: EventEnvelope): void {
  if (e === null || typeof e !== "object") invalid("event is not a record");
  requireId(e.eventId, "eventId");
  requireId(e.merchantId, "merchantId");
  requireId(e.currency, "currency");
}
