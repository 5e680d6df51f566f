import type { Needs, ResolvedContext } from "../domain/context.js";
import type { InventoryAdjusted, Origin } from "../domain/events.js";
import { NO_PARTY, type PostingResult } from "../domain/voucher.js";
import { SOURCE_TOPICS } from "../topics.js";
import type { PostingRule } from "./rule.js";
import { requireId, requireMoney, requireOptionalText, validateEnvelope } from "./validation.js";
import { buildVoucher, controlAccount, needsNothing, nonBlank, skip, transfer } from "./voucher-builder.js";

const DEFAULT_REASON = { en: "Inventory value adjustment", vi: "Điều chỉnh giá trị tồn kho" };

function validate(e: InventoryAdjusted): void {
  validateEnvelope(e);
  requireId(e.inventoryTrackingId, "inventoryTrackingId");
  requireId(e.productVariantId, "productVariantId");
  requireMoney(e.valueDelta, "valueDelta");
  requireOptionalText(e.reason, "reason");
}

function needs(e: InventoryAdjusted): Needs {
  if (e.valueDelta.isZero()) return needsNothing();
  return { accountIds: [], controlCodes: ["INVENTORY", "INVENTORY_ADJUSTMENT"], purchaseOrderId: null };
}

function post(e: InventoryAdjusted, ctx: ResolvedContext, origin: Origin): PostingResult {
  if (e.valueDelta.isZero()) return { vouchers: [], skips: [skip("ZERO_VALUE_DELTA", e, null)] };
  const inventory = controlAccount(ctx, "INVENTORY");
  const adjustment = controlAccount(ctx, "INVENTORY_ADJUSTMENT");
  // A gain raises the inventory asset; a loss lowers it.
  const [debit, credit] = e.valueDelta.isPositive() ? [inventory, adjustment] : [adjustment, inventory];
  const amount = e.valueDelta.abs();
  // The operator wrote one note; it is shown as-is in both languages.
  const note = nonBlank(e.reason ?? null);
  const voucher = buildVoucher(e, origin, {
    kind: "INVENTORY_ADJUSTMENT",
    source: { type: "INVENTORY_TRACKING", id: e.inventoryTrackingId, code: null },
    amount,
    party: NO_PARTY,
    reason: note === null ? { ...DEFAULT_REASON } : { en: note, vi: note },
    lines: transfer(debit, credit, amount),
  });
  return { vouchers: [voucher], skips: [] };
}

/** INVENTORY_ADJUSTMENT: an operator's revaluation of stock (SPEC §3). */
export const inventoryAdjustmentRule: PostingRule<InventoryAdjusted> = {
  topic: SOURCE_TOPICS.inventoryAdjusted,
  validate,
  needs,
  post,
};
