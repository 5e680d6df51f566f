import type { EventEnvelope } from "../domain/events.js";
import { LAST_INSTANT } from "../domain/voucher-check.js";
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

/** CONTRACTS "Field limits": what passes them can be encoded, indexed and stored. */
export const ID_MAX_CHARS = 255;
export const TEXT_MAX_CHARS = 1_000;

// C0 controls, DEL and C1 controls: invisible, and NUL cannot be stored in Postgres text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const CURRENCY = /^[A-Z]{3}$/;

/** Characters as people count them (code points), not UTF-16 units; cheap when plainly short. */
function charCount(s: string, limit: number): number {
  return s.length <= limit ? s.length : [...s].length;
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") invalid(`${field} is not a string`);
  return value;
}

/**
 * An identifier (ids, uids, codes): 1–255 characters, no control characters, and not only
 * white space — a blank id would name no document.
 */
export function requireId(value: unknown, field: string): string {
  const s = requireString(value, field);
  if (s.trim().length === 0) invalid(`${field} is empty`);
  const n = charCount(s, ID_MAX_CHARS);
  if (n > ID_MAX_CHARS) invalid(`${field} has ${n} characters (at most ${ID_MAX_CHARS})`);
  if (CONTROL_CHARACTER.test(s)) invalid(`${field} contains a control character`);
  return s;
}

/** An identifier that may be absent (an optional code). */
export function requireOptionalId(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : requireId(value, field);
}

/** Free text (names, notes): at most 1,000 characters and no NUL; line breaks are fine. */
export function requireText(value: unknown, field: string): string {
  const s = requireString(value, field);
  const n = charCount(s, TEXT_MAX_CHARS);
  if (n > TEXT_MAX_CHARS) invalid(`${field} has ${n} characters (at most ${TEXT_MAX_CHARS})`);
  if (s.includes("\u0000")) invalid(`${field} contains a NUL character`);
  return s;
}

export function requireOptionalText(value: unknown, field: string): string | null {
  return value === null || value === undefined ? null : requireText(value, field);
}

/** Epoch millis from 1970-01-01 to 9999-12-31 (UTC): what a voucher and Postgres can hold. */
export function requireTimestamp(value: unknown, field: string): number {
  if (typeof value === "bigint") invalid(`${field} ${value} is out of range`);
  if (typeof value !== "number" || !Number.isInteger(value)) invalid(`${field} is not a timestamp`);
  if (value < 0 || value > LAST_INSTANT) {
    invalid(`${field} ${value} is outside 1970-01-01 .. 9999-12-31`);
  }
  return value;
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
  requireTimestamp(e.occurredAt, "occurredAt");
  requireId(e.merchantId, "merchantId");
  const currency = requireString(e.currency, "currency");
  if (!CURRENCY.test(currency))
    invalid(`currency ${JSON.stringify(currency.slice(0, 20))} is not three letters A-Z`);
}
