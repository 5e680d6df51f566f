import type { InventoryIssuedForSale } from "../../../src/domain/events.js";
import type { SimMerchant } from "../world/merchants.js";
import { amountUnits, unitsToMoney, vnd } from "./amounts.js";
import type { EventContext } from "./context.js";
import type { OpenSale } from "./sales.js";

/** A sale from before the data set (or another channel), for a stock issue no sale here precedes. */
function earlierSale(ctx: EventContext): OpenSale {
  const { rng } = ctx;
  const m = ctx.merchant();
  return {
    merchantIndex: m.index,
    saleOrderId: rng.uuid(),
    saleOrderCode: ctx.sales.nextCode(m.index),
    attemptUid: rng.uuid(),
    totalUnits: amountUnits(rng, 10_000, 5_000_000, 1_000, 0),
  };
}

/**
 * The stock issued for the oldest open sale, at a cost that is a share of its total (often
 * fractional, sometimes zero); sometimes without the sale order code.
 */
export function issuedForSale(ctx: EventContext): InventoryIssuedForSale {
  const { rng } = ctx;
  const sale = ctx.sales.takeOldest() ?? earlierSale(ctx);
  const env = ctx.envelope(ctx.merchants[sale.merchantIndex] as SimMerchant);
  let cost = 0;
  if (!rng.chance(0.06)) {
    const share = 0.35 + rng.float() * 0.5;
    // Average costs are often fractional.
    cost = rng.chance(0.1)
      ? Math.max(1, Math.round(sale.totalUnits * share))
      : Math.max(vnd(100), Math.round((sale.totalUnits * share) / vnd(100)) * vnd(100));
  }
  return {
    eventId: env.eventId,
    occurredAt: env.occurredAt,
    merchantId: env.merchantId,
    currency: env.currency,
    saleOrderId: sale.saleOrderId,
    saleOrderCode: rng.chance(0.1) ? null : sale.saleOrderCode,
    attemptUid: sale.attemptUid,
    costBasis: unitsToMoney(cost),
  };
}
