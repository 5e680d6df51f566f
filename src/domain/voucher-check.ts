import { moneyDefect } from "../money.js";
import { balanceProblems, type Voucher } from "./voucher.js";

/** The last instant the contract allows and Postgres timestamptz holds: 9999-12-31T23:59:59.999Z. */
export const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** What is wrong with a text field Postgres must hold, if anything. */
function textProblem(text: unknown): string | null {
  if (text === null || text === undefined) return null;
  if (typeof text !== "string") return "is not text";
  return text.includes("\u0000") ? "contains a NUL character" : null;
}

/**
 * Text Postgres cannot hold (NUL) or that is not text at all. Runs on every voucher in the
 * topology and again in the sink, so it allocates nothing unless it finds something.
 */
function textDefects(v: Voucher): string[] {
  const defects: string[] = [];
  const check = (what: string, text: unknown) => {
    const problem = textProblem(text);
    if (problem) defects.push(`${what} ${problem}`);
  };
  check("voucherId", v.voucherId);
  check("idempotencyKey", v.idempotencyKey);
  check("merchantId", v.merchantId);
  check("category", v.category);
  check("currency", v.currency);
  check("party.id", v.party.id);
  check("party.name.en", v.party.name?.en);
  check("party.name.vi", v.party.name?.vi);
  check("reason.en", v.reason.en);
  check("reason.vi", v.reason.vi);
  check("source.id", v.source.id);
  check("source.code", v.source.code);
  check("origin.eventId", v.origin.eventId);
  check("origin.topic", v.origin.topic);
  for (const l of v.lines) {
    const account = textProblem(l.accountId);
    if (account) defects.push(`line ${l.lineNo} accountId ${account}`);
    const code = textProblem(l.accountCode);
    if (code) defects.push(`line ${l.lineNo} accountCode ${code}`);
  }
  return defects;
}

/**
 * Everything that would make Postgres refuse a voucher, or make it wrong in the books, found
 * before it is written: money numeric(19,4) would round or reject, unbalanced lines, text
 * Postgres cannot hold, a time outside timestamptz. Empty when the voucher is storable.
 * Validation at the boundary keeps these from happening; this is the net under it.
 */
export function voucherDefects(v: Voucher): string[] {
  const defects: string[] = [];
  const amountDefect = moneyDefect(v.amount);
  if (amountDefect) defects.push(`amount ${amountDefect}`);
  for (const l of v.lines) {
    const defect = moneyDefect(l.amount);
    if (defect) defects.push(`line ${l.lineNo} ${defect}`);
  }
  if (defects.length === 0) defects.push(...balanceProblems(v));
  defects.push(...textDefects(v));
  if (!Number.isInteger(v.occurredAt) || v.occurredAt < 0 || v.occurredAt > LAST_INSTANT) {
    defects.push(`occurredAt ${String(v.occurredAt)} is outside 1970-01-01 .. 9999-12-31`);
  }
  return defects;
}
