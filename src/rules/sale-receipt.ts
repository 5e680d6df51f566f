import type { ControlCode } from "../domain/accounts.js";
import type { Needs, ResolvedContext } from "../domain/context.js";
import type { Origin, PaymentAttempt, PaymentSucceeded } from "../domain/events.js";
import type { PostingResult } from "../domain/voucher.js";
import { InvalidPayloadError } from "../errors.js";
import type { Money } from "../money.js";
import { SOURCE_TOPICS } from "../topics.js";
import type { PostingRule } from "./rule.js";
import {
  requireArray,
  requireId,
  requireNonNegative,
  requirePositive,
  requireText,
  requireUnique,
  validateEnvelope,
} from "./validation.js";
import {
  buildVoucher,
  controlAccount,
  customerParty,
  distinct,
  documentLabel,
  type LineDraft,
  moneyAccount,
  needsNothing,
  nonBlank,
  skip,
  type VoucherDraft,
} from "./voucher-builder.js";

type RoutedAttempt = PaymentAttempt & { finance: { source: { id: string } } };

const isRouted = (a: PaymentAttempt): a is RoutedAttempt => a.finance !== null && a.finance !== undefined;

/** The one method that may carry `tendered` (SPEC §3), spelled exactly so. */
const CASH_METHOD = "CASH";

/** Cash handed over; for non-cash tenders what the attempt pays. */
const receivedOf = (a: PaymentAttempt): Money => a.tendered ?? a.amount;
const changeOf = (a: PaymentAttempt): Money => receivedOf(a).minus(a.amount);

function validateAttempt(a: PaymentAttempt, at: string): void {
  if (a === null || typeof a !== "object") throw new InvalidPayloadError(`${at} is not a record`);
  requireId(a.uid, `${at}.uid`);
  const amount = requirePositive(a.amount, `${at}.amount`);
  if (a.tendered !== null && a.tendered !== undefined) {
    // Only cash is handed over and given change: a tender on a card would book money never received.
    if (a.method !== CASH_METHOD) {
      throw new InvalidPayloadError(`${at}.tendered is set on a ${String(a.method)} attempt (cash only)`);
    }
    const tendered = requirePositive(a.tendered, `${at}.tendered`);
    if (tendered.lessThan(amount)) {
      throw new InvalidPayloadError(
        `${at}.tendered ${tendered.toString()} is less than its amount ${amount.toString()}`,
      );
    }
  }
  if (a.finance !== null && a.finance !== undefined) {
    requireId(a.finance.source?.id, `${at}.finance.source.id`);
  }
}

function validate(e: PaymentSucceeded): void {
  validateEnvelope(e);
  requireId(e.saleOrderId, "saleOrderId");
  requireId(e.saleOrderCode, "saleOrderCode");
  requireNonNegative(e.orderTotal, "orderTotal");
  if (e.customer !== null && e.customer !== undefined) {
    requireId(e.customer.id, "customer.id");
    requireText(e.customer.name, "customer.name");
  }
  const attempts = requireArray<PaymentAttempt>(e.attempts, "attempts");
  // A payment that succeeded with no tender has nothing to book and no skip reason to count it by.
  if (attempts.length === 0) throw new InvalidPayloadError("attempts is empty");
  attempts.forEach((a, i) => {
    validateAttempt(a, `attempts[${i}]`);
  });
  requireUnique(
    attempts.map((a) => a.uid),
    "attempts[].uid",
  );
}

function needs(e: PaymentSucceeded): Needs {
  const routed = e.attempts.filter(isRouted);
  if (routed.length === 0) return needsNothing();
  const controlCodes: ControlCode[] = ["SALES_REVENUE"];
  if (routed.some((a) => changeOf(a).greaterThan(0))) controlCodes.push("CHANGE_CLEARING");
  return {
    accountIds: distinct(routed.map((a) => a.finance.source.id)),
    controlCodes,
    purchaseOrderId: null,
  };
}

function post(e: PaymentSucceeded, ctx: ResolvedContext, origin: Origin): PostingResult {
  const result: PostingResult = { vouchers: [], skips: [] };
  const label = documentLabel(e.saleOrderCode, e.saleOrderId);
  const source = { type: "SALE_ORDER" as const, id: e.saleOrderId, code: nonBlank(e.saleOrderCode) };
  const party = customerParty(e.customer ?? null);
  const voucher = (draft: Pick<VoucherDraft, "kind" | "subId" | "amount" | "reason" | "lines">) =>
    buildVoucher(e, origin, { ...draft, source, party });

  for (const a of e.attempts) {
    if (!isRouted(a)) {
      // Finance never guesses an account for money it was not told where to put.
      result.skips.push(skip("NO_FINANCE_ROUTING", e, a.uid));
      continue;
    }
    const m = moneyAccount(ctx, a.finance.source.id);
    const received = receivedOf(a);
    const change = changeOf(a);
    const hasChange = change.greaterThan(0);
    const lines: LineDraft[] = [
      { account: m, side: "DEBIT", amount: received },
      { account: controlAccount(ctx, "SALES_REVENUE"), side: "CREDIT", amount: a.amount },
    ];
    if (hasChange) {
      lines.push({ account: controlAccount(ctx, "CHANGE_CLEARING"), side: "CREDIT", amount: change });
    }
    result.vouchers.push(
      voucher({
        kind: "SALE_RECEIPT",
        subId: a.uid,
        amount: received,
        reason: { en: `Payment received for sale order ${label}`, vi: `Thu tiền đơn hàng ${label}` },
        lines,
      }),
    );

    if (hasChange) {
      result.vouchers.push(
        voucher({
          kind: "SALE_CHANGE_RETURN",
          subId: a.uid,
          amount: change,
          reason: {
            en: `Change returned to customer for sale order ${label}`,
            vi: `Trả tiền thừa cho khách, đơn hàng ${label}`,
          },
          lines: [
            { account: controlAccount(ctx, "CHANGE_CLEARING"), side: "DEBIT", amount: change },
            { account: m, side: "CREDIT", amount: change },
          ],
        }),
      );
    } else if (a.tendered !== null && a.tendered !== undefined) {
      result.skips.push(skip("NO_CHANGE_DUE", e, a.uid));
    }
  }
  return result;
}

/** SALE_RECEIPT and SALE_CHANGE_RETURN, one receipt per attempt (SPEC §3). */
export const saleReceiptRule: PostingRule<PaymentSucceeded> = {
  topic: SOURCE_TOPICS.paymentSuccess,
  validate,
  needs,
  post,
};
