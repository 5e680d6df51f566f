import type { Needs, ResolvedContext } from "../domain/context.js";
import type { InventoryIssuedForSale, Origin } from "../domain/events.js";
import { NO_PARTY, type PostingResult } from "../domain/voucher.js";
import { SOURCE_TOPICS } from "../topics.js";
import type { PostingRule } from "./rule.js";
import { requireId, requireNonNegative, requireOptionalId, validateEnvelope } from "./validation.js";
import {
  buildVoucher,
  controlAccount,
  documentLabel,
  needsNothing,
  nonBlank,
  skip,
  transfer,
} from "./voucher-builder.js";

function validate(e: InventoryIssuedForSale): void {
  validateEnvelope(e);
  requireId(e.saleOrderId, "saleOrderId");
  requireOptionalId(e.saleOrderCode, "saleOrderCode");
  requireId(e.attemptUid, "attemptUid");
  requireNonNegative(e.costBasis, "costBasis");
}

function needs(e: InventoryIssuedForSale): Needs {
  if (e.costBasis.isZero()) return needsNothing();
  return { accountIds: [], controlCodes: ["COGS", "INVENTORY"], purchaseOrderId: null };
}

function post(e: InventoryIssuedForSale, ctx: ResolvedContext, origin: Origin): PostingResult {
  if (e.costBasis.isZero()) return { vouchers: [], skips: [skip("ZERO_COST_BASIS", e, null)] };
  const label = documentLabel(e.saleOrderCode, e.saleOrderId);
  const voucher = buildVoucher(e, origin, {
    kind: "SALE_COGS",
    source: { type: "SALE_ORDER", id: e.saleOrderId, code: nonBlank(e.saleOrderCode ?? null) },
    subId: e.attemptUid,
    amount: e.costBasis,
    party: NO_PARTY,
    reason: { en: `Cost of goods sold for sale order ${label}`, vi: `Giá vốn hàng bán đơn hàng ${label}` },
    lines: transfer(controlAccount(ctx, "COGS"), controlAccount(ctx, "INVENTORY"), e.costBasis),
  });
  return { vouchers: [voucher], skips: [] };
}

/** SALE_COGS: stock issued for a sale moves its cost from inventory to COGS (SPEC §3). */
export const saleCogsRule: PostingRule<InventoryIssuedForSale> = {
  topic: SOURCE_TOPICS.inventoryIssuedForSale,
  validate,
  needs,
  post,
};
