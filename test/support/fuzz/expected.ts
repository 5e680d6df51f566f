import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../../../src/domain/events.js";
import type { Side, SkipReason, VoucherKind } from "../../../src/domain/voucher.js";
import { seededAccountId, voucherIdOf } from "../../../src/ids.js";
import { type Money, money } from "../../../src/money.js";
import { SOURCE_TOPICS, type SourceTopic } from "../../../src/topics.js";

/**
 * What a valid event books, computed independently from SPEC §3 (not with the project's
 * rules): idempotency keys, amounts, currency and ledger lines.
 */
export interface ExpectedLine {
  accountId: string;
  side: Side;
  amount: string;
}

export interface ExpectedVoucher {
  key: string;
  voucherId: string;
  merchantId: string;
  kind: VoucherKind;
  currency: string;
  amount: string;
  lines: ExpectedLine[];
}

export interface Booking {
  vouchers: ExpectedVoucher[];
  skips: SkipReason[];
}

const fixed = (m: Money) => m.toFixed(4);

/** SPEC §3: every part after the kind with `%` written `%25`, then `:` written `%3A`. */
const keyPart = (part: string) => part.replaceAll("%", "%25").replaceAll(":", "%3A");

function voucher(
  kind: VoucherKind,
  e: { merchantId: string; currency: string },
  source: string[],
  amount: Money,
  lines: [string, Side, Money][],
): ExpectedVoucher {
  const key = [kind, ...[e.merchantId, ...source].map(keyPart)].join(":");
  return {
    key,
    voucherId: voucherIdOf(key),
    merchantId: e.merchantId,
    kind,
    currency: e.currency,
    amount: fixed(amount),
    lines: lines.map(([accountId, side, a]) => ({ accountId, side, amount: fixed(a) })),
  };
}

function sale(e: PaymentSucceeded): Booking {
  const out: Booking = { vouchers: [], skips: [] };
  const control = (code: string) => seededAccountId(e.merchantId, code);
  for (const a of e.attempts) {
    if (a.finance === null || a.finance === undefined) {
      out.skips.push("NO_FINANCE_ROUTING");
      continue;
    }
    const m = a.finance.source.id;
    const received = a.tendered ?? a.amount;
    const change = received.minus(a.amount);
    const doc = ["SALE_ORDER", e.saleOrderId, a.uid];
    const lines: [string, Side, Money][] = [
      [m, "DEBIT", received],
      [control("SALES_REVENUE"), "CREDIT", a.amount],
    ];
    if (change.greaterThan(0)) lines.push([control("CHANGE_CLEARING"), "CREDIT", change]);
    out.vouchers.push(voucher("SALE_RECEIPT", e, doc, received, lines));
    if (change.greaterThan(0)) {
      out.vouchers.push(
        voucher("SALE_CHANGE_RETURN", e, doc, change, [
          [control("CHANGE_CLEARING"), "DEBIT", change],
          [m, "CREDIT", change],
        ]),
      );
    } else if (a.tendered !== null && a.tendered !== undefined) {
      out.skips.push("NO_CHANGE_DUE");
    }
  }
  return out;
}

function purchase(e: PurchaseOrderReceived): Booking {
  if (e.payments.length === 0) return { vouchers: [], skips: ["NO_FINANCE_ROUTING"] };
  const paid = e.payments.reduce((s, p) => s.plus(p.amount), money(0));
  const received = e.receivedValue;
  const lines: [string, Side, Money][] = e.payments.map((p) => [p.accountId, "CREDIT", p.amount]);
  if (received.greaterThan(0)) lines.push([seededAccountId(e.merchantId, "INVENTORY"), "DEBIT", received]);
  const diff = paid.minus(received);
  const ap = seededAccountId(e.merchantId, "ACCOUNTS_PAYABLE");
  if (diff.greaterThan(0)) lines.push([ap, "DEBIT", diff]);
  if (diff.lessThan(0)) lines.push([ap, "CREDIT", diff.negated()]);
  const amount = paid.greaterThan(received) ? paid : received;
  return {
    vouchers: [voucher("PURCHASE_PAYMENT", e, ["PURCHASE_ORDER", e.purchaseOrderId], amount, lines)],
    skips: [],
  };
}

function cogs(e: InventoryIssuedForSale): Booking {
  if (e.costBasis.isZero()) return { vouchers: [], skips: ["ZERO_COST_BASIS"] };
  return {
    vouchers: [
      voucher("SALE_COGS", e, ["SALE_ORDER", e.saleOrderId, e.attemptUid], e.costBasis, [
        [seededAccountId(e.merchantId, "COGS"), "DEBIT", e.costBasis],
        [seededAccountId(e.merchantId, "INVENTORY"), "CREDIT", e.costBasis],
      ]),
    ],
    skips: [],
  };
}

function adjustment(e: InventoryAdjusted): Booking {
  if (e.valueDelta.isZero()) return { vouchers: [], skips: ["ZERO_VALUE_DELTA"] };
  const inventory = seededAccountId(e.merchantId, "INVENTORY");
  const adj = seededAccountId(e.merchantId, "INVENTORY_ADJUSTMENT");
  const amount = e.valueDelta.abs();
  const [debit, credit] = e.valueDelta.isPositive() ? [inventory, adj] : [adj, inventory];
  return {
    vouchers: [
      voucher("INVENTORY_ADJUSTMENT", e, ["INVENTORY_TRACKING", e.inventoryTrackingId], amount, [
        [debit, "DEBIT", amount],
        [credit, "CREDIT", amount],
      ]),
    ],
    skips: [],
  };
}

/** The vouchers and skips of a valid event, as decoded by a reader of the contract schema. */
export function expectedBooking(topic: SourceTopic, event: unknown): Booking {
  switch (topic) {
    case SOURCE_TOPICS.paymentSuccess:
      return sale(event as PaymentSucceeded);
    case SOURCE_TOPICS.purchaseOrderReceived:
      return purchase(event as PurchaseOrderReceived);
    case SOURCE_TOPICS.inventoryIssuedForSale:
      return cogs(event as InventoryIssuedForSale);
    case SOURCE_TOPICS.inventoryAdjusted:
      return adjustment(event as InventoryAdjusted);
  }
}
