import { createHash } from "node:crypto";
import type { Voucher } from "../domain/voucher.js";
import { formatMoney } from "../money.js";

/**
 * The voucher's accounting content as a canonical string: every field except `origin`, so a
 * re-published event (new eventId, topic offset) replays idempotently instead of conflicting.
 * Arrays in a fixed order rather than objects keep the text independent of key order; money
 * goes through formatMoney so 1 and 1.0000 serialize alike. Bump the version tag whenever the
 * layout changes — stored hashes of the old layout would otherwise all look like conflicts.
 */
export function canonicalContent(v: Voucher): string {
  const lines = [...v.lines]
    .sort((a, b) => a.lineNo - b.lineNo)
    .map((l) => [l.lineNo, l.accountId, l.accountCode, l.side, formatMoney(l.amount)]);
  return JSON.stringify([
    "v1",
    v.voucherId,
    v.idempotencyKey,
    v.merchantId,
    v.type,
    v.kind,
    v.category,
    v.currency,
    formatMoney(v.amount),
    [v.party.type, v.party.id, v.party.name && [v.party.name.en, v.party.name.vi]],
    [v.reason.en, v.reason.vi],
    [v.source.type, v.source.id, v.source.code],
    v.occurredAt,
    lines,
  ]);
}

/** sha256 (hex) of canonicalContent: equal for replays, different for a conflicting version. */
export function contentHash(v: Voucher): string {
  return createHash("sha256").update(canonicalContent(v)).digest("hex");
}
