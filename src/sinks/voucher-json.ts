import { withScale } from "../avro/decimal-type.js";
import {
  type AmountArithmetic,
  balanceProblemsOf,
  type LedgerLine,
  type Voucher,
} from "../domain/voucher.js";
import { voucherDefectsOf } from "../domain/voucher-check.js";
import { isMoney, MONEY_SCALE, type Money, money, moneyDefect } from "../money.js";

/**
 * A voucher as the sink carries it and as JSON: money as exact 4-place text (as numeric(19,4)
 * prints it and formatMoney writes it), so nothing passes through a JS number, and amounts the
 * sink only copies and hashes are never parsed into decimals (see MoneyTextType).
 */
export type VoucherJson = Omit<Voucher, "amount" | "lines"> & {
  amount: string;
  lines: (Omit<LedgerLine, "amount"> & { amount: string })[];
};

/**
 * A decimal's exact text: 4 places when it has at most 4, so a storable amount reads as the
 * decoder writes it; all of its places when it has more, so the check still refuses it.
 * (Anything else, which is no money, stays as it is, for the check to refuse.)
 */
const exactText = (a: Money): string =>
  isMoney(a) ? (a.isFinite() && a.decimalPlaces() > MONEY_SCALE ? a.toFixed() : a.toFixed(MONEY_SCALE)) : a;

/** A voucher of the posting rules (amounts as decimals) as the sink carries it. */
export function voucherJson(v: Voucher): VoucherJson {
  return {
    ...v,
    amount: exactText(v.amount),
    lines: v.lines.map((l) => ({ ...l, amount: exactText(l.amount) })),
  };
}

/**
 * Money's text as formatMoney writes it, for numeric(19,4): at most 15 integer digits, no
 * leading zeros, 4 places; not "-0.0000".
 */
const MONEY_TEXT = /^-?(?:0|[1-9]\d{0,14})\.\d{4}$/;

/** Whether `text` is storable money written as formatMoney writes it. */
export const isMoneyText = (text: unknown): text is string =>
  typeof text === "string" && MONEY_TEXT.test(text) && text !== "-0.0000";

/** Why an amount given as text is not storable money in its canonical text, or null (cf. moneyDefect). */
function moneyTextDefect(text: unknown): string | null {
  if (isMoneyText(text)) return null;
  if (typeof text !== "string") return "is not a decimal";
  let value: Money;
  try {
    value = money(text);
  } catch {
    return "is not a decimal";
  }
  return moneyDefect(value) ?? "is not a decimal in 4-place text";
}

/** Amounts of canonical text summed exactly as integers of ten-thousandths. */
const SCALED: AmountArithmetic<string, bigint> = {
  zero: 0n,
  of: (text) => BigInt(text.replace(".", "")),
  plus: (a, b) => a + b,
  isPositive: (s) => s > 0n,
  equals: (a, b) => a === b,
  format: (s) => withScale(s.toString(), MONEY_SCALE),
};

/**
 * voucherDefects of a voucher carried as VoucherJson, the same defects in the same words, with
 * exact integer arithmetic instead of decimal.js.
 */
export const voucherJsonDefects = (v: VoucherJson): string[] =>
  voucherDefectsOf(v, moneyTextDefect, (json) => balanceProblemsOf(json, SCALED));
