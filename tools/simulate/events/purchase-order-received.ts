import type { PurchaseOrderReceived, PurchasePayment } from "../../../src/domain/events.js";
import type { SimMerchant } from "../world/merchants.js";
import type { SimPurchaseOrder } from "../world/purchase-orders.js";
import { amountUnits, splitUnits, unitsToMoney, vnd } from "./amounts.js";
import type { EventContext } from "./context.js";

/** `paid` split into n payments to vendors from the merchant's payable accounts. */
export const purchasePayments = (
  ctx: EventContext,
  m: SimMerchant,
  paid: number,
  n: number,
): PurchasePayment[] =>
  splitUnits(ctx.rng, paid, n, 1_000).map((amount) => ({
    uid: ctx.rng.uuid(),
    accountId: ctx.payableAccount(m).id,
    amount: unitsToMoney(amount),
  }));

/**
 * The receipt of purchase order `po`: sometimes nothing received (a prepayment), mostly paid in
 * one to three payments, the total paid equal to, below or above the value received, or unpaid.
 */
export function purchaseOrderReceived(ctx: EventContext, po: SimPurchaseOrder): PurchaseOrderReceived {
  const { rng } = ctx;
  const m = ctx.merchants[po.merchantIndex] as SimMerchant;
  const env = ctx.envelope(m);
  const received = rng.chance(0.05) ? 0 : amountUnits(rng, 200_000, 50_000_000, 1_000, 0.02);
  let payments: PurchasePayment[] = [];
  if (!rng.chance(0.1)) {
    const r = rng.float();
    const n = r < 0.6 ? 1 : r < 0.85 ? 2 : 3;
    const toThousandDong = (units: number) => Math.round(units / vnd(1_000)) * vnd(1_000);
    let paid: number;
    const rel = rng.float();
    if (received === 0)
      paid = amountUnits(rng, 200_000, 20_000_000, 1_000, 0); // prepayment
    else if (rel < 0.55) paid = received;
    else if (rel < 0.8) paid = Math.max(vnd(1_000), toThousandDong(received * (0.2 + rng.float() * 0.7)));
    else paid = toThousandDong(received * (1.05 + rng.float() * 0.45));
    payments = purchasePayments(ctx, m, paid, n);
  }
  return {
    eventId: env.eventId,
    occurredAt: env.occurredAt,
    merchantId: env.merchantId,
    currency: env.currency,
    purchaseOrderId: po.id,
    receivedValue: unitsToMoney(received),
    payments,
  };
}
