import { CDC_TOPICS } from "../../topics.js";
import type { ResolvedDatasetOptions } from "../options.js";
import type { SimMerchant } from "../world/merchants.js";
import type { PurchaseOrders } from "../world/purchase-orders.js";
import {
  type AccountRow,
  type CdcItem,
  type MerchantRow,
  type PurchaseOrderRow,
  snapshotRead,
  type VendorRow,
} from "./debezium.js";

/** Number of rows `snapshot` yields. */
export function snapshotRowCount(merchants: readonly SimMerchant[], purchaseOrders: PurchaseOrders): number {
  const extraAccounts = merchants.reduce((n, m) => n + m.moneyAccounts.filter((a) => !a.seeded).length, 0);
  const vendors = merchants.reduce((n, m) => n + m.vendors.length, 0);
  return merchants.length + extraAccounts + vendors + purchaseOrders.count;
}

/**
 * The Debezium snapshot of the seller database: merchants, their money accounts (but the
 * seeded CASH, which finance creates itself), vendors, then purchase orders, timestamped just
 * before the first event, in snapshot order.
 */
export function* snapshot(
  o: ResolvedDatasetOptions,
  merchants: readonly SimMerchant[],
  purchaseOrders: PurchaseOrders,
): IterableIterator<CdcItem> {
  let ts = o.start - 3_600_000;
  let lsn = 24_000_000;
  const read = <Row>(table: string, row: Row) => {
    ts += 1;
    lsn += 152;
    return snapshotRead(table, row, ts, lsn);
  };
  for (const m of merchants) {
    const row: MerchantRow = {
      id: m.id,
      name: m.name,
      currency: "VND",
      status: "ACTIVE",
      created_at: m.createdAt,
    };
    yield { topic: CDC_TOPICS.merchant, key: { id: m.id }, value: read("merchant", row) };
  }
  for (const m of merchants) {
    for (const a of m.moneyAccounts) {
      if (a.seeded) continue;
      const row: AccountRow = {
        id: a.id,
        merchant_id: m.id,
        code: a.code,
        name: a.name,
        type: "MONEY",
        status: "ACTIVE",
      };
      yield { topic: CDC_TOPICS.financeAccount, key: { id: a.id }, value: read("finance_account", row) };
    }
  }
  for (const m of merchants) {
    for (const v of m.vendors) {
      const row: VendorRow = { id: v.id, merchant_id: m.id, name: v.name, status: "ACTIVE" };
      yield { topic: CDC_TOPICS.vendor, key: { id: v.id }, value: read("vendor", row) };
    }
  }
  for (let k = 0; k < purchaseOrders.count; k++) {
    const po = purchaseOrders.at(k);
    const row: PurchaseOrderRow = {
      id: po.id,
      merchant_id: (merchants[po.merchantIndex] as SimMerchant).id,
      code: po.code,
      vendor_id: po.vendorId,
      status: "CONFIRMED",
    };
    yield { topic: CDC_TOPICS.purchaseOrder, key: { id: po.id }, value: read("purchase_order", row) };
  }
}
