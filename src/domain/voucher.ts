import type { Money } from "../money.js";
import { formatMoney, MONEY_SCALE, scaledSafeInteger, ZERO } from "../money.js";

export type VoucherType = "RECEIPT" | "PAYMENT" | "ADJUSTMENT";
export type VoucherKind =
  | "SALE_RECEIPT"
  | "SALE_CHANGE_RETURN"
  | "PURCHASE_PAYMENT"
  | "SALE_COGS"
  | "INVENTORY_ADJUSTMENT";
export type Side = "DEBIT" | "CREDIT";
export type PartyType = "CUSTOMER" | "VENDOR" | "NONE";
export type SourceType = "SALE_ORDER" | "PURCHASE_ORDER" | "INVENTORY_TRACKING";

export interface BilingualText {
  en: string;
  vi: string;
}

export interface Party {
  type: PartyType;
  id: string | null;
  name: BilingualText | null;
}

export interface LedgerLine {
  lineNo: number;
  accountId: string;
  accountCode: string | null;
  side: Side;
  amount: Money;
}

/** The record produced to `finance.voucher` (schemas/finance.voucher-value.avsc). */
export interface Voucher {
  voucherId: string;
  idempotencyKey: string;
  merchantId: string;
  type: VoucherType;
  kind: VoucherKind;
  category: string;
  currency: string;
  amount: Money;
  party: Party;
  reason: BilingualText;
  source: { type: SourceType; id: string; code: string | null };
  origin: { eventId: string; topic: string; partition: number; offset: number };
  occurredAt: number;
  lines: LedgerLine[];
}

export const SKIP_REASONS = [
  "NO_FINANCE_ROUTING",
  "NO_CHANGE_DUE",
  "ZERO_COST_BASIS",
  "ZERO_VALUE_DELTA",
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** A clean short-circuit: nothing to book, counted by reason, never an error. */
export interface Skip {
  reason: SkipReason;
  eventId: string;
  /** What was skipped inside the event, e.g. the attempt uid; null for the whole event. */
  subject: string | null;
}

export interface PostingResult {
  vouchers: Voucher[];
  skips: Skip[];
}

export const WALK_IN_CUSTOMER: Party = {
  type: "CUSTOMER",
  id: null,
  name: { en: "Walk-in customer", vi: "Khách lẻ" },
};
export const NO_PARTY: Party = { type: "NONE", id: null, name: null };

/**
 * Arithmetic on a voucher's amounts of type A, in sums of type S: decimal.js in the posting
 * rules, exact scaled integers in the sink, which carries amounts as text.
 */
export interface AmountArithmetic<A, S> {
  zero: S;
  of(amount: A): S;
  plus(a: S, b: S): S;
  isPositive(s: S): boolean;
  equals(a: S, b: S): boolean;
  format(s: S): string;
}

/** Money summed as decimal.js, as the posting rules carry it. */
export const DECIMALS: AmountArithmetic<Money, Money> = {
  zero: ZERO,
  of: (a) => a,
  plus: (a, b) => a.plus(b),
  isPositive: (s) => s.greaterThan(ZERO),
  equals: (a, b) => a.equals(b),
  format: formatMoney,
};

/** What balancing looks at: the voucher's amount and its lines. */
type BalancedParts = Pick<Voucher, "amount"> & { lines: readonly LedgerLine[] };

/**
 * Why a voucher does not balance (SPEC §3), or nothing when it does. It runs for every voucher,
 * twice (the rule's assertion, the storable check): a voucher whose amounts are safe integers
 * of ten-thousandths is settled in plain arithmetic, and only any other is summed in decimal.js.
 */
export function balanceProblems(v: BalancedParts): string[] {
  return balancesInSafeIntegers(v) ? [] : balanceProblemsOf(v, DECIMALS);
}

/**
 * True when the voucher surely balances: at least two lines numbered 1..n, each a positive
 * DEBIT or CREDIT, debits equal to credits and to the amount, all as exact safe integers of
 * ten-thousandths. False says only "not settled here"; balanceProblemsOf then says why, if so.
 * Positive amounts only grow the sums, so a safe total means every partial sum was exact.
 */
export function balancesInSafeIntegers(v: BalancedParts): boolean {
  const lines = v.lines;
  if (lines.length < 2) return false;
  const amount = scaledSafeInteger(v.amount, MONEY_SCALE);
  if (amount === null) return false;
  let debits = 0;
  let credits = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as LedgerLine;
    const a = scaledSafeInteger(l.amount, MONEY_SCALE);
    if (a === null || !(a > 0) || l.lineNo !== i + 1) return false;
    if (l.side === "DEBIT") debits += a;
    else if (l.side === "CREDIT") credits += a;
    else return false;
  }
  return Number.isSafeInteger(debits) && debits === credits && debits === amount;
}

/** balanceProblems of a voucher whose amounts are of type A. */
export function balanceProblemsOf<A, S>(
  v: { amount: A; lines: readonly { lineNo: number; side: string; amount: A }[] },
  m: AmountArithmetic<A, S>,
): string[] {
  let debits = m.zero;
  let credits = m.zero;
  let nonPositive = false;
  let misnumbered = false;
  v.lines.forEach((l, i) => {
    const amount = m.of(l.amount);
    if (l.side === "DEBIT") debits = m.plus(debits, amount);
    else if (l.side === "CREDIT") credits = m.plus(credits, amount);
    if (!m.isPositive(amount)) nonPositive = true;
    if (l.lineNo !== i + 1) misnumbered = true;
  });
  const problems: string[] = [];
  if (v.lines.length < 2) problems.push("fewer than two lines");
  if (nonPositive) problems.push("a line amount is not positive");
  if (!m.equals(debits, credits)) problems.push(`debits ${m.format(debits)} != credits ${m.format(credits)}`);
  const amount = m.of(v.amount);
  if (!m.equals(debits, amount)) problems.push(`debits ${m.format(debits)} != amount ${m.format(amount)}`);
  if (misnumbered) problems.push("line numbers are not 1..n");
  return problems;
}

/**
 * A voucher that does not balance is a bug in a posting rule, never bad input: fail loudly
 * rather than emit it.
 */
export function assertBalanced(v: Voucher): Voucher {
  const problems = balanceProblems(v);
  if (problems.length > 0) {
    throw new Error(`unbalanced voucher ${v.idempotencyKey}: ${problems.join("; ")}`);
  }
  return v;
}
