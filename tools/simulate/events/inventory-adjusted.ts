import type { InventoryAdjusted } from "../../../src/domain/events.js";
import type { SimMerchant } from "../world/merchants.js";
import { ADJUST_REASONS } from "../world/names.js";
import { VARIANTS_PER_MERCHANT, variantIdAt } from "../world/variants.js";
import { amountUnits, unitsToMoney } from "./amounts.js";
import type { EventContext } from "./context.js";

/** A stock adjustment of one of the merchant's product variants: a gain, a loss or zero, with or without a reason. */
export function inventoryAdjusted(ctx: EventContext, m: SimMerchant): InventoryAdjusted {
  const { rng } = ctx;
  const env = ctx.envelope(m);
  const r = rng.float();
  const magnitude = amountUnits(rng, 5_000, 2_000_000, 100, 0.15);
  const delta = r < 0.1 ? 0 : r < 0.5 ? magnitude : -magnitude;
  const productVariantId = variantIdAt(ctx.options.seed, m.index, rng.int(0, VARIANTS_PER_MERCHANT - 1));
  return {
    eventId: env.eventId,
    occurredAt: env.occurredAt,
    merchantId: env.merchantId,
    currency: env.currency,
    inventoryTrackingId: rng.uuid(),
    productVariantId,
    valueDelta: unitsToMoney(delta),
    reason: rng.chance(0.55) ? rng.pick(ADJUST_REASONS) : null,
  };
}
