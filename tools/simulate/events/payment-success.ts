import type { PaymentAttempt, PaymentSucceeded } from "../../../src/domain/events.js";
import { CUSTOMERS_PER_MERCHANT, customerAt } from "../world/customers.js";
import type { SimMerchant, SimMoneyAccount } from "../world/merchants.js";
import { amountUnits, splitUnits, unitsToMoney, vnd } from "./amounts.js";
import type { EventContext } from "./context.js";

/** An attempt's finance routing to a money account. */
export const routedTo = (accountId: string) => ({ source: { id: accountId } });

/** Share of attempts the point of sale does not route to a money account. */
const UNROUTED = 0.06;

function cashAttempt(ctx: EventContext, m: SimMerchant, amount: number): PaymentAttempt {
  const { rng } = ctx;
  const drawers = ctx.cashDrawers(m);
  const drawer =
    drawers.length > 1 && rng.chance(0.3) ? (drawers[1] as SimMoneyAccount) : (drawers[0] as SimMoneyAccount);
  let tendered = amount;
  if (rng.chance(0.6)) {
    // Handed over in notes: rounded up to a denomination, always above the amount.
    const step = vnd(rng.pick([10_000, 50_000, 100_000, 200_000, 500_000]));
    tendered = Math.ceil(amount / step) * step;
    if (tendered === amount) tendered += step;
  }
  return {
    uid: rng.uuid(),
    method: "CASH",
    amount: unitsToMoney(amount),
    tendered: unitsToMoney(tendered),
    finance: rng.chance(UNROUTED) ? null : routedTo(drawer.id),
  };
}

function otherAttempt(ctx: EventContext, m: SimMerchant, amount: number, method: string): PaymentAttempt {
  const { rng } = ctx;
  return {
    uid: rng.uuid(),
    method,
    amount: unitsToMoney(amount),
    tendered: null,
    finance: rng.chance(UNROUTED)
      ? null
      : routedTo(ctx.account(m, method === "EWALLET" ? "EWALLET" : "BANK").id),
  };
}

/**
 * A sale paid at merchant `m`: mostly one attempt (cash, card, bank transfer or e-wallet),
 * sometimes a split tender (cash first, then card, sometimes an e-wallet). The sale stays open
 * for a later stock issue.
 */
export function paymentSuccess(ctx: EventContext, m: SimMerchant): PaymentSucceeded {
  const { rng } = ctx;
  const env = ctx.envelope(m);
  const total = amountUnits(rng, 10_000, 5_000_000, 1_000, 0.01);
  const shape = rng.float();
  let attempts: PaymentAttempt[];
  if (shape < 0.8) {
    const r = rng.float();
    const method = r < 0.45 ? "CASH" : r < 0.7 ? "CARD" : r < 0.85 ? "BANK_TRANSFER" : "EWALLET";
    attempts = [method === "CASH" ? cashAttempt(ctx, m, total) : otherAttempt(ctx, m, total, method)];
  } else {
    const parts = splitUnits(rng, total, shape < 0.97 ? 2 : 3, 10_000);
    attempts = parts.map((p, i) =>
      i === 0 ? cashAttempt(ctx, m, p) : otherAttempt(ctx, m, p, i === 1 ? "CARD" : "EWALLET"),
    );
  }
  const e: PaymentSucceeded = {
    eventId: env.eventId,
    occurredAt: env.occurredAt,
    merchantId: env.merchantId,
    currency: env.currency,
    saleOrderId: rng.uuid(),
    saleOrderCode: ctx.sales.nextCode(m.index),
    orderTotal: unitsToMoney(total),
    customer: rng.chance(0.35)
      ? customerAt(ctx.options.seed, m.index, rng.int(0, CUSTOMERS_PER_MERCHANT - 1))
      : null,
    attempts,
  };
  ctx.sales.remember({
    merchantIndex: m.index,
    saleOrderId: e.saleOrderId,
    saleOrderCode: e.saleOrderCode,
    attemptUid: (attempts[0] as PaymentAttempt).uid,
    totalUnits: total,
  });
  return e;
}
