import { moneyDefect } from "../money.js";
import { balanceProblems, type Voucher } from "./voucher.js";

/** The last instant the contract allows and Postgres timestamptz holds: 9999-12-31T23:59:59.999Z. */
export const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function textDefects(v: Voucher): string[] {
  const texts: [string, string | null][] = [
    ["voucherId", v.voucherId],
    ["idempotencyKey", v.idempotencyKey],
    ["merchantId", v.merchantId],
    ["category", v.category],
    ["currency", v.currency],
    ["party.id", v.party.id],
    ["party.name.en", v.party.name?.en ?? null],
    ["party.name.vi", v.party.name?.vi ?? null],
    ["reason.en", v.reason.en],
    ["reason.vi", v.reason.vi],
    ["source.id", v.source.id],
    ["source.code", v.source.code],
    ["origin.eventId", v.origin.eventId],
    ["origin.topic", v.origin.topic],
    ...v.lines.flatMap((l): [string, string | null][] => [
      [`line ${l.lineNo} accountId`, l.accountId],
      [`line ${l.lineNo} accountCode`, l.accountCode],
    ]),
  ];
  return texts.flatMap(([what, text]) => {
    if (text === null) return [];
    if (typeof text !== "string") return [`${what} is not text`];
    return text.includes("\u0000") ? [`${what} contains a NUL character`] : [];
  });
}

/**
 * Everything that would make Postgres refuse a voucher, or make it wrong in the books, found
 * before it is written: money numeric(19,4) would round or reject, unbalanced lines, text
 * Postgres cannot hold, a time outside timestamptz. Empty when the voucher is storable.
 * Validation at the boundary keeps these from happening; this is the net under it.
 */
export function voucherDefects(v: Voucher): string[] {
  const defects: string[] = [];
  for (const [what, amount] of [
    ["amount", v.amount],
    ...v.lines.map((l) => [`line ${l.lineNo}`, l.amount]),
  ]) {
    const defect = moneyDefect(amount);
    if (defect) defects.push(`${what} ${defect}`);
  }
  if (defects.length === 0) defects.push(...balanceProblems(v));
  defects.push(...textDefects(v));
  if (!Number.isInteger(v.occurredAt) || v.occurredAt < 0 || v.occurredAt > LAST_INSTANT) {
    defects.push(`occurredAt ${String(v.occurredAt)} is outside 1970-01-01 .. 9999-12-31`);
  }
  return defects;
}
