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

/**
 * The voucher's accounting content (SPEC §3) as a canonical string: kind, type, category,
 * currency, amount, party, reason, source and lines — and not `origin` or `occurredAt`, so an
 * upstream re-publication (new eventId, new occurredAt, same facts) is an idempotent replay.
 * Arrays in a fixed order keep the text independent of key order; money at 4 places, so 1 and
 * 1.0000 are alike. A layout change needs a new prefix and a path for stored hashes, which is
 * why it is written out here rather than derived from the column table (voucher-columns.ts):
 * a column added there must not change the hash of every voucher already stored.
 */
export function canonicalContent(v: VoucherContent): string {
  const lines = inLineOrder(v.lines).map((l) => [
    l.lineNo,
    l.accountId,
    l.accountCode,
    l.side,
    amountText(l.amount),
  ]);
  return JSON.stringify([
    v.voucherId,
    v.idempotencyKey,
    v.merchantId,
    v.type,
    v.kind,
    v.category,
    v.currency,
    amountText(v.amount),
    [v.party.type, v.party.id, v.party.name && [v.party.name.en, v.party.name.vi]],
    [v.reason.en, v.reason.vi],
    [v.source.type, v.source.id, v.source.code],
    lines,
  ]);
}

/**
 * Prefixed sha256 (hex) of canonicalContent: equal for replays, different for a conflicting
 * version. The one-shot hash, a third cheaper than a Hash object for inputs this small.
 */
export function contentHash(v: VoucherContent): string {
  return HASH_PREFIX + hash("sha256", canonicalContent(v), "hex");
}

/** A hash stored by a version before this layout, which also hashed occurredAt. */
export const isLegacyHash = (hash: string) => !hash.startsWith(HASH_PREFIX);
