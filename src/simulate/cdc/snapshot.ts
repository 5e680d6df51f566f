import { CDC_TOPICS, type CdcTopic } from "../../topics.js";
import type { SimMerchant } from "../world/merchants.js";
import type { PurchaseOrders } from "../world/purchase-orders.js";
import { type CdcItem, type CdcRows, cdcMessage } from "./debezium.js";
import { accountRow, merchantRow, purchaseOrderRow, vendorRow } from "./rows.js";
import type { SellerLog } from "./seller-log.js";

/** Number of rows `snapshot` yields. */
export function snapshotRowCount(merchants: readonly SimMerchant[], purchaseOrders: PurchaseOrders): number {
  const extraAccounts = merchants.reduce((n, m) => n + m.moneyAccounts.filter((a) => !a.seeded).length, 0);
  const vendors = merchants.reduce((n, m) => n + m.vendors.length, 0);
  return merchants.length + extraAccounts + vendors + purchaseOrders.count;
}

/**
 * The Debezium snapshot of the seller database: merchants, their money accounts (but the
 * seeded CASH, which finance creates itself), vendors, then purchase orders, read in the log's
 * current transaction (before any event, so every merchant's rows precede its first event).
 */
export function* snapshot(
  log: SellerLog,
  merchants: readonly SimMerchant[],
  purchaseOrders: PurchaseOrders,
): IterableIterator<CdcItem> {
  const read = <T extends CdcTopic>(topic: T, after: CdcRows[T]) =>
    cdcMessage(topic, "r", { before: null, after }, log.row());
  for (const m of merchants) yield read(CDC_TOPICS.merchant, merchantRow(m));
  for (const m of merchants) {
    for (const a of m.moneyAccounts) if (!a.seeded) yield read(CDC_TOPICS.financeAccount, accountRow(m, a));
  }
  for (const m of merchants) {
    for (const v of m.vendors) yield read(CDC_TOPICS.vendor, vendorRow(m, v, v.name));
  }
  for (let k = 0; k < purchaseOrders.count; k++) {
    yield read(CDC_TOPICS.purchaseOrder, purchaseOrderRow(merchants, purchaseOrders.at(k)));
  }
}
