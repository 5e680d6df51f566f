import { hash } from "node:crypto";
import type { Voucher } from "../domain/voucher.js";
import { formatMoney, type Money, money } from "../money.js";
import { isMoneyText } from "./voucher-json.js";

/**
 * What a voucher's content is made of, whether it comes from the posting rules (amounts as
 * decimals) or back from Postgres as JSON (amounts as numeric text).
 */
export type VoucherContent = Omit<Voucher, "amount" | "lines" | "origin" | "occurredAt"> & {
  amount: Money | string;
  lines: readonly {
    lineNo: number;
    accountId: string;
    accountCode: string | null;
    side: string;
    amount: Money | string;
  }[];
};

/** Hashes of this layout carry the prefix; a stored hash without it is of the legacy (v1) layout. */
export const HASH_PREFIX = "c2:";

/** Money at 4 places; text already so (as the sink decodes it, and Postgres prints it) as it is. */
const amountText = (a: Money | string) =>
  typeof a !== "string" ? formatMoney(a) : isMoneyText(a) ? a : formatMoney(money(a));

/** The lines by line number: as they are when they are so already (every voucher's, nearly). */
function inLineOrder<L extends { lineNo: number }>(lines: readonly L[]): readonly L[] {
  for (let i = 1; i < lines.length; i++)
    if ((lines[i - 1] as L).lineNo > (lines[i] as L).lineNo)
      return [...lines].sort((a, b) => a.lineNo - b.lineNo);
  return lines;
}

/** Where a voucher's canonical content is written to be hashed; grown for a larger one. */
let scratch = Buffer.allocUnsafe(4096);
let at = 0;

function room(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  const grown = Buffer.allocUnsafe(Math.max(2 * scratch.length, at + bytes));
  scratch.copy(grown, 0, 0, at);
  scratch = grown;
}

function ascii(text: string): void {
  room(text.length);
  for (let i = 0; i < text.length; i++) scratch[at++] = text.charCodeAt(i);
}

/** Whether JSON.stringify escapes anything in `text` from `from` on (any surrogate counts: lone ones are). */
function escapesFrom(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/**
 * JSON.stringify(text)'s UTF-8 bytes. Printable ASCII, nearly every field, is copied byte by
 * byte; other text without escapes is encoded natively in one call; the rest goes through
 * JSON.stringify itself.
 */
function jsonText(text: string): void {
  // an escape takes at most 6 bytes per UTF-16 unit (\uXXXX), UTF-8 at most 3
  room(6 * text.length + 2);
  const start = at;
  scratch[at++] = 0x22;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) {
      const quoted = c >= 0x7f && !escapesFrom(text, i);
      at = start + (quoted ? 1 : 0);
      at += scratch.write(quoted ? text : JSON.stringify(text), at, "utf8");
      if (quoted) scratch[at++] = 0x22;
      return;
    }
    scratch[at++] = c;
  }
  scratch[at++] = 0x22;
}

/** A value as JSON.stringify writes it as an array element (undefined, like null, is null). */
function jsonValue(value: unknown): void {
  if (typeof value === "string") jsonText(value);
  else if (value === null || value === undefined) ascii("null");
  else {
    const json = JSON.stringify(value) ?? "null";
    room(3 * json.length);
    at += scratch.write(json, at, "utf8");
  }
}

/** JSON arrays of values, as JSON.stringify writes them. */
function jsonArray(values: readonly unknown[]): void {
  ascii("[");
  for (let i = 0; i < values.length; i++) {
    if (i > 0) ascii(",");
    jsonValue(values[i]);
  }
  ascii("]");
}

/**
 * The voucher's accounting content (SPEC §3) in its canonical layout, the UTF-8 of
 *   JSON.stringify([voucherId, idempotencyKey, merchantId, type, kind, category, currency, amount,
 *     [party.type, party.id, party.name && [name.en, name.vi]], [reason.en, reason.vi],
 *     [source.type, source.id, source.code], [[lineNo, accountId, accountCode, side, amount] …]])
 * — and not `origin` or `occurredAt`, so an upstream re-publication (new eventId, new
 * occurredAt, same facts) is an idempotent replay. Arrays in a fixed order keep the text
 * independent of key order; lines by line number; money at 4 places, so 1 and 1.0000 are
 * alike. Written straight into bytes rather than stringified and encoded: the sink hashes every
 * voucher, and this is a third of the cost. A layout change needs a new prefix and a path for
 * stored hashes, which is why it is written out here rather than derived from the column table
 * (voucher-columns.ts): a column added there must not change the hash of every voucher stored.
 * The bytes are scratch, valid until the next call.
 */
function canonicalBytes(v: VoucherContent): Buffer {
  at = 0;
  ascii("[");
  for (const text of [v.voucherId, v.idempotencyKey, v.merchantId, v.type, v.kind, v.category, v.currency]) {
    jsonValue(text);
    ascii(",");
  }
  jsonText(amountText(v.amount));
  ascii(",");
  jsonArray([v.party.type, v.party.id, v.party.name && [v.party.name.en, v.party.name.vi]]);
  ascii(",");
  jsonArray([v.reason.en, v.reason.vi]);
  ascii(",");
  jsonArray([v.source.type, v.source.id, v.source.code]);
  ascii(",[");
  const lines = inLineOrder(v.lines);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as VoucherContent["lines"][number];
    if (i > 0) ascii(",");
    ascii("[");
    jsonValue(l.lineNo);
    ascii(",");
    jsonValue(l.accountId);
    ascii(",");
    jsonValue(l.accountCode);
    ascii(",");
    jsonValue(l.side);
    ascii(",");
    jsonText(amountText(l.amount));
    ascii("]");
  }
  ascii("]]");
  return scratch.subarray(0, at);
}

/**
 * Prefixed sha256 (hex) of the canonical content: equal for replays, different for a
 * conflicting version.
 */
export function contentHash(v: VoucherContent): string {
  return HASH_PREFIX + hash("sha256", canonicalBytes(v), "hex");
}

/** A hash stored by a version before this layout, which also hashed occurredAt. */
export const isLegacyHash = (hash: string) => !hash.startsWith(HASH_PREFIX);
