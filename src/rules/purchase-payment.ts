import type { ControlCode } from "../domain/accounts.js";
import type { Needs, ResolvedContext } from "../domain/context.js";
import type { Origin, PurchaseOrderReceived, PurchasePayment } from "../domain/events.js";
import type { PostingResult } from "../domain/voucher.js";
import { InvalidPayloadError } from "../errors.js";
import { type Money, moneyDefect, sum } from "../money.js";
import { SOURCE_TOPICS } from "../topics.js";
import type { PostingRule } from "./rule.js";
import {
  requireArray,
  requireId,
  requireNonNegative,
  requirePositive,
  requireUnique,
  validateEnvelope,
} from "./validation.js";
import {
  buildVoucher,
  controlAccount,
  distinct,
  documentLabel,
  type LineDraft,
  moneyAccount,
  needsNothing,
  nonBlank,
  skip,
} from "./voucher-builder.js";

const paidOf = (e: PurchaseOrderReceived): Money => sum(e.payments.map((p) => p.amount));

function validate(e: PurchaseOrderReceived): void {
  validateEnvelope(e);
  requireId(e.purchaseOrderId, "purchaseOrderId");
  requireNonNegative(e.receivedValue, "receivedValue");
  const payments = requireArray<PurchasePayment>(e.payments, "payments");
  payments.forEach((p, i) => {
    const at = `payments[${i}]`;
    if (p === null || typeof p !== "object") throw new InvalidPayloadError(`${at} is not a record`);
    requireId(p.uid, `${at}.uid`);
    requireId(p.accountId, `${at}.accountId`);
    requirePositive(p.amount, `${at}.amount`);
  });
  requireUnique(
    payments.map((p) => p.uid),
    "payments[].uid",
  );
  // Each payment fits numeric(19,4) but their total is the voucher amount and must fit too.
  const totalDefect = moneyDefect(paidOf(e));
  if (totalDefect !== null) throw new InvalidPayloadError(`total of payments ${totalDefect}`);
}

function needs(e: PurchaseOrderReceived): Needs {
  if (e.payments.length === 0) return needsNothing();
  const controlCodes: ControlCode[] = [];
  if (e.receivedValue.greaterThan(0)) controlCodes.push("INVENTORY");
  if (!paidOf(e).equals(e.receivedValue)) controlCodes.push("ACCOUNTS_PAYABLE");
  return {
    accountIds: distinct(e.payments.map((p) => p.accountId)),
    controlCodes,
    purchaseOrderId: e.purchaseOrderId,
  };
}

function post(e: PurchaseOrderReceived, ctx: ResolvedContext, origin: Origin): PostingResult {
  if (e.payments.length === 0) {
    return { vouchers: [], skips: [skip("NO_FINANCE_ROUTING", e, null)] };
  }
  const po = ctx.purchaseOrder;
  const vendor = ctx.vendor;
  if (po === null || po.id !== e.purchaseOrderId) {
    throw new Error(`posting rule bug: purchase order ${e.purchaseOrderId} was not resolved`);
  }
  if (vendor === null || vendor.id !== po.vendorId) {
    throw new Error(`posting rule bug: vendor ${po.vendorId} of purchase order ${po.id} was not resolved`);
  }

  const poLabel = documentLabel(po.code, po.id);
  const paid = paidOf(e);
  const received = e.receivedValue;
  // One credit line per payment, even two on the same account: each is its own movement of money.
  const lines: LineDraft[] = e.payments.map((p) => ({
    account: moneyAccount(ctx, p.accountId),
    side: "CREDIT",
    amount: p.amount,
  }));
  if (received.greaterThan(0)) {
    lines.push({ account: controlAccount(ctx, "INVENTORY"), side: "DEBIT", amount: received });
  }
  // Paid more than received: a prepayment to the vendor; less: still owed to the vendor.
  const diff = paid.minus(received);
  if (diff.greaterThan(0)) {
    lines.push({ account: controlAccount(ctx, "ACCOUNTS_PAYABLE"), side: "DEBIT", amount: diff });
  } else if (diff.lessThan(0)) {
    lines.push({ account: controlAccount(ctx, "ACCOUNTS_PAYABLE"), side: "CREDIT", amount: diff.negated() });
  }

  const voucher = buildVoucher(e, origin, {
    kind: "PURCHASE_PAYMENT",
    source: { type: "PURCHASE_ORDER", id: e.purchaseOrderId, code: nonBlank(po.code) },
    party: { type: "VENDOR", id: vendor.id, name: { en: vendor.name, vi: vendor.name } },
    // Total debits = total credits = the larger of what was paid and what was received.
    amount: paid.greaterThan(received) ? paid : received,
    reason: {
      en: `Payment to vendor ${vendor.name} for purchase order ${poLabel}`,
      vi: `Chi trả nhà cung cấp ${vendor.name} cho đơn nhập hàng ${poLabel}`,
    },
    lines,
  });
  return { vouchers: [voucher], skips: [] };
}

/** PURCHASE_PAYMENT: one payment voucher per received purchase order (SPEC §3). */
export const purchasePaymentRule: PostingRule<PurchaseOrderReceived> = {
  topic: SOURCE_TOPICS.purchaseOrderReceived,
  validate,
  needs,
  post,
};
