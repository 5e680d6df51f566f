import { type Money, moneyDefect } from "../money.js";
import { balanceProblems, type LedgerLine, type Voucher } from "./voucher.js";

/** A voucher whose amounts are of type A: decimals (Voucher), or exact text (the sink's). */
export type VoucherOf<A> = Omit<Voucher, "amount" | "lines"> & {
  amount: A;
  lines: readonly (Omit<LedgerLine, "amount"> & { amount: A })[];
};

/** The last instant the contract allows and Postgres timestamptz holds: 9999-12-31T23:59:59.999Z. */
export const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** What is wrong with a text field Postgres must hold, if anything. */
function textProblem(text: unknown): string | null {
  if (text === null || text === undefined) return null;
  if (typeof text !== "string") return "is not text";
  return text.includes("\u0000") ? "contains a NUL character" : null;
}

/** Adds `what`'s problem to `defects`, if its text has one. */
function noteText(defects: string[], what: string, text: unknown): void {
  // the common case first, without a call: text without NUL
  if (typeof text === "string" && !text.includes("\u0000")) return;
  const problem = textProblem(text);
  if (problem) defects.push(`${what} ${problem}`);
}

/**
 * Adds to `defects` the text Postgres cannot hold (NUL) or that is not text at all. Runs on
 * every voucher in the topology and again in the sink, so it allocates nothing unless it
 * finds something, and names each field in straight code (a table of field getters made a
 * call per field that the JIT could not inline).
 */
function addTextDefects(v: VoucherOf<unknown>, defects: string[]): void {
  noteText(defects, "voucherId", v.voucherId);
  noteText(defects, "idempotencyKey", v.idempotencyKey);
  noteText(defects, "merchantId", v.merchantId);
  noteText(defects, "category", v.category);
  noteText(defects, "currency", v.currency);
  noteText(defects, "party.id", v.party.id);
  noteText(defects, "party.name.en", v.party.name?.en);
  noteText(defects, "party.name.vi", v.party.name?.vi);
  noteText(defects, "reason.en", v.reason.en);
  noteText(defects, "reason.vi", v.reason.vi);
  noteText(defects, "source.id", v.source.id);
  noteText(defects, "source.code", v.source.code);
  noteText(defects, "origin.eventId", v.origin.eventId);
  noteText(defects, "origin.topic", v.origin.topic);
  // a line's fields are looked at before noteText so that its name is built only for a defect
  for (const l of v.lines) {
    if (typeof l.accountId !== "string" || l.accountId.includes("\u0000")) {
      noteText(defects, `line ${l.lineNo} accountId`, l.accountId);
    }
    if (typeof l.accountCode !== "string" || l.accountCode.includes("\u0000")) {
      noteText(defects, `line ${l.lineNo} accountCode`, l.accountCode);
    }
  }
}

/**
 * Everything that would make Postgres refuse a voucher, or make it wrong in the books, found
 * before it is written: money numeric(19,4) would round or reject, unbalanced lines, text
 * Postgres cannot hold, a time outside timestamptz. Empty when the voucher is storable.
 * Validation at the boundary keeps these from happening; this is the net under it.
 */
export function voucherDefects(v: Voucher): string[] {
  return voucherDefectsOf<Money>(v, moneyDefect, balanceProblems);
}

/**
 * voucherDefects of a voucher whose amounts are of type A, each judged by `amountDefect` (why
 * it is no storable money, or null) and balanced by `balanceOf` (balanceProblemsOf with the
 * arithmetic of A): the same defects in the same words whatever the amounts are carried as.
 */
export function voucherDefectsOf<A>(
  v: VoucherOf<A>,
  amountDefect: (amount: A) => string | null,
  balanceOf: (v: VoucherOf<A>) => string[],
): string[] {
  const defects: string[] = [];
  const defect = amountDefect(v.amount);
  if (defect) defects.push(`amount ${defect}`);
  for (const l of v.lines) {
    const lineDefect = amountDefect(l.amount);
    if (lineDefect) defects.push(`line ${l.lineNo} ${lineDefect}`);
  }
  if (defects.length === 0) defects.push(...balanceOf(v));
  addTextDefects(v, defects);
  if (!Number.isInteger(v.occurredAt) || v.occurredAt < 0 || v.occurredAt > LAST_INSTANT) {
    defects.push(`occurredAt ${String(v.occurredAt)} is outside 1970-01-01 .. 9999-12-31`);
  }
  return defects;
}
