import type { SimMerchant, SimMoneyAccount } from "../world/merchants.js";
import type { SimPurchaseOrder } from "../world/purchase-orders.js";
import type { AccountRow, MerchantRow, PurchaseOrderRow, VendorRow } from "./debezium.js";

/** The seller database's rows of the simulated world, as its snapshot and its changes write them. */

export const merchantRow = (m: SimMerchant): MerchantRow => ({
  id: m.id,
  name: m.name,
  currency: "VND",
  status: "ACTIVE",
  created_at: m.createdAt,
});

/** A money account of `m`; `owner` other than `m.id` is a row that would move it (refused downstream). */
export const accountRow = (
  m: SimMerchant,
  a: SimMoneyAccount,
  status: "ACTIVE" | "ARCHIVED" = "ACTIVE",
  owner: string = m.id,
): AccountRow => ({ id: a.id, merchant_id: owner, code: a.code, name: a.name, type: "MONEY", status });

export const vendorRow = (m: SimMerchant, vendor: { id: string }, name: string): VendorRow => ({
  id: vendor.id,
  merchant_id: m.id,
  name,
  status: "ACTIVE",
});

export const purchaseOrderRow = (
  merchants: readonly SimMerchant[],
  po: SimPurchaseOrder,
  code: string = po.code,
): PurchaseOrderRow => ({
  id: po.id,
  merchant_id: (merchants[po.merchantIndex] as SimMerchant).id,
  code,
  vendor_id: po.vendorId,
  status: "CONFIRMED",
});
