import { CDC_TOPICS, type CdcTopic } from "../../../src/topics.js";
import type { SimMerchant } from "../world/merchants.js";
import type { PurchaseOrders } from "../world/purchase-orders.js";
import { type CdcItem, type CdcRows, cdcMessage, type SnapshotMarker } from "./debezium.js";
import { accountRow, merchantRow, purchaseOrderRow, vendorRow } from "./rows.js";
import type { SellerLog } from "./seller-log.js";

/** Rows `snapshot` reads of each table, in the order it reads the tables. */
function tableRowCounts(merchants: readonly SimMerchant[], purchaseOrders: PurchaseOrders): number[] {
  const extraAccounts = merchants.reduce((n, m) => n + m.moneyAccounts.filter((a) => !a.seeded).length, 0);
  const vendors = merchants.reduce((n, m) => n + m.vendors.length, 0);
  return [merchants.length, extraAccounts, vendors, purchaseOrders.count];
}

/** Number of rows `snapshot` yields. */
export function snapshotRowCount(merchants: readonly SimMerchant[], purchaseOrders: PurchaseOrders): number {
  return tableRowCounts(merchants, purchaseOrders).reduce((a, b) => a + b, 0);
}

/**
 * `source.snapshot` of the `k`-th row (0-based) of a table of `n` rows, as Debezium marks an
 * initial snapshot's rows: the very first row `first`, the very last `last`, a table's first and
 * last `first_in_data_collection` / `last_in_data_collection`, the others `true`.
 */
export function snapshotMarker(
  k: number,
  n: number,
  firstTable: boolean,
  lastTable: boolean,
): SnapshotMarker {
  if (firstTable && k === 0) return "first";
  if (lastTable && k === n - 1) return "last";
  if (k === 0) return "first_in_data_collection";
  if (k === n - 1) return "last_in_data_collection";
  return "true";
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
  const counts = tableRowCounts(merchants, purchaseOrders);
  // The first and last tables with rows (an empty table has no rows to mark).
  const firstTable = counts.findIndex((n) => n > 0);
  const lastTable = counts.length - 1 - [...counts].reverse().findIndex((n) => n > 0);
  let table = -1;
  let k = 0;
  /** Moves on to the next table. */
  const next = () => {
    table++;
    k = 0;
  };
  const read = <T extends CdcTopic>(topic: T, after: CdcRows[T]) => {
    const marker = snapshotMarker(k++, counts[table] as number, table === firstTable, table === lastTable);
    return cdcMessage(topic, "r", { before: null, after }, log.read(marker));
  };
  next();
  for (const m of merchants) yield read(CDC_TOPICS.merchant, merchantRow(m));
  next();
  for (const m of merchants) {
    for (const a of m.moneyAccounts) if (!a.seeded) yield read(CDC_TOPICS.financeAccount, accountRow(m, a));
  }
  next();
  for (const m of merchants) {
    for (const v of m.vendors) yield read(CDC_TOPICS.vendor, vendorRow(m, v, v.name));
  }
  next();
  for (let p = 0; p < purchaseOrders.count; p++) {
    yield read(CDC_TOPICS.purchaseOrder, purchaseOrderRow(merchants, purchaseOrders.at(p)));
  }
}
