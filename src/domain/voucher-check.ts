import { type Money, moneyDefect } from "../money.js";
import {
  type AmountArithmetic,
  balanceProblemsOf,
  DECIMALS,
  type LedgerLine,
  type Voucher,
} from "./voucher.js";

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

/** A voucher's text fields, each with the name a defect gives it. */
const TEXT_FIELDS: readonly (readonly [string, (v: VoucherOf<unknown>) => unknown])[] = [
  ["voucherId", (v) => v.voucherId],
  ["idempotencyKey", (v) => v.idempotencyKey],
  ["merchantId", (v) => v.merchantId],
  ["category", (v) => v.category],
  ["currency", (v) => v.currency],
  ["party.id", (v) => v.party.id],
  ["party.name.en", (v) => v.party.name?.en],
  ["party.name.vi", (v) => v.party.name?.vi],
  ["reason.en", (v) => v.reason.en],
  ["reason.vi", (v) => v.reason.vi],
  ["source.id", (v) => v.source.id],
  ["source.code", (v) => v.source.code],
  ["origin.eventId", (v) => v.origin.eventId],
  ["origin.topic", (v) => v.origin.topic],
];

/**
 * Adds to `defects` the text Postgres cannot hold (NUL) or that is not text at all. Runs on
 * every voucher in the topology and again in the sink, so it allocates nothing unless it
 * finds something.
 */
function addTextDefects(v: VoucherOf<unknown>, defects: string[]): void {
  for (const [what, field] of TEXT_FIELDS) {
    const problem = textProblem(field(v));
    if (problem) defects.push(`${what} ${problem}`);
  }
  for (const l of v.lines) {
    const account = textProblem(l.accountId);
    if (account) defects.push(`line ${l.lineNo} accountId ${account}`);
    const code = textProblem(l.accountCode);
    if (code) defects.push(`line ${l.lineNo} accountCode ${code}`);
  }
}

/**
 * Everything that would make Postgres refuse a voucher, or make it wrong in the books, found
 * before it is written: money numeric(19,4) would round or reject, unbalanced lines, text
 * Postgres cannot hold, a time outside timestamptz. Empty when the voucher is storable.
 * Validation at the boundary keeps these from happening; this is the net under it.
 */
export function voucherDefects(v: Voucher): string[] {
  return voucherDefectsOf<Money, Money>(v, moneyDefect, DECIMALS);
}

/**
 * voucherDefects of a voucher whose amounts are of type A, each judged by `amountDefect` (why
 * it is no storable money, or null) and summed by `arithmetic`: the same defects in the same
 * words whatever the amounts are carried as.
 */
export function voucherDefectsOf<A, S>(
  v: VoucherOf<A>,
  amountDefect: (amount: A) => string | null,
  arithmetic: AmountArithmetic<A, S>,
): string[] {
  const defects: string[] = [];
  const defect = amountDefect(v.amount);
  if (defect) defects.push(`amount ${defect}`);
  for (const l of v.lines) {
    const lineDefect = amountDefect(l.amount);
    if (lineDefect) defects.push(`line ${l.lineNo} ${lineDefect}`);
  }
  if (defects.length === 0) defects.push(...balanceProblemsOf(v, arithmetic));
  addTextDefects(v, defects);
  if (!Number.isInteger(v.occurredAt) || v.occurredAt < 0 || v.occurredAt > LAST_INSTANT) {
    defects.push(`occurredAt ${String(v.occurredAt)} is outside 1970-01-01 .. 9999-12-31`);
  }
  return defects;
}
