import type { CdcItem } from "./cdc/debezium.js";
import { history, historyRowCount } from "./cdc/history.js";
import { sellerLog } from "./cdc/seller-log.js";
import { snapshot, snapshotRowCount } from "./cdc/snapshot.js";
import type { EventItem } from "./events/item.js";
import { eventStream } from "./events/stream.js";
import { type DatasetOptions, type ResolvedDatasetOptions, resolveOptions } from "./options.js";
import { planChanges, type WorldChanges } from "./world/changes.js";
import { buildMerchants, merchantPicker, type SimMerchant } from "./world/merchants.js";
import { PurchaseOrders, type SimPurchaseOrder } from "./world/purchase-orders.js";

export type { CdcItem } from "./cdc/debezium.js";
export { HISTORY_DELAY_MS, RECODE_BATCH } from "./cdc/history.js";
export { latestOccurredAt } from "./events/context.js";
export type { Delivery, EventItem, SourceEvent } from "./events/item.js";
export type { DatasetOptions, ResolvedDatasetOptions } from "./options.js";
export { BAD_REASONS, DEFAULT_START, resolveOptions, TOPIC_MIX } from "./options.js";
export type { MerchantChanges, WorldChanges } from "./world/changes.js";

/**
 * A realistic, reproducible data set for the pipeline: Debezium snapshot rows (CDC) for M
 * merchants with their extra money accounts, vendors and purchase orders, then N source events
 * across the four source topics; with `history`, the CDC topics also carry what changed in the
 * seller database after every event (committed later than any event occurred). Pure:
 * everything follows from the options (no clock, no Math.random). Events and CDC rows are
 * produced lazily by iterators, so memory stays bounded at any N; each call of `events()` /
 * `cdc()` starts again from the seed and yields the same items.
 *
 * The parts: `options.ts` (what a data set is made of), `random.ts` (the seeded streams),
 * `world/` (merchants, their accounts, vendors, purchase orders, customers, product variants,
 * names, the changes after the events), `cdc/` (the Debezium snapshot of that world and its
 * history, in one log of commits), `events/` (one generator per event
 * family, the stream that mixes them, bad events, and the schedule of duplicates).
 */
export interface Dataset {
  options: ResolvedDatasetOptions;
  merchants: readonly SimMerchant[];
  /** Purchase orders on the CDC topic (more than the events receive: some stay open). */
  purchaseOrderCount: number;
  /** Number of CDC messages `cdc()` yields, tombstones included. */
  cdcCount: number;
  /** What changes after the events; null without `history`. */
  changes: WorldChanges | null;
  purchaseOrder(index: number): SimPurchaseOrder;
  cdc(): IterableIterator<CdcItem>;
  events(): IterableIterator<EventItem>;
}

export function generateDataset(options: DatasetOptions): Dataset {
  const resolved = resolveOptions(options);
  const merchants = buildMerchants(resolved);
  const pickMerchant = merchantPicker(resolved.merchants);
  const purchaseOrders = new PurchaseOrders(resolved, merchants, pickMerchant);
  const changes = resolved.history ? planChanges(resolved.seed, merchants) : null;
  function* cdc(): IterableIterator<CdcItem> {
    const log = sellerLog(resolved.start);
    yield* snapshot(log, merchants, purchaseOrders);
    if (changes) yield* history(resolved, log, changes, purchaseOrders);
  }
  return {
    options: resolved,
    merchants,
    purchaseOrderCount: purchaseOrders.count,
    cdcCount:
      snapshotRowCount(merchants, purchaseOrders) +
      (changes ? historyRowCount(changes, purchaseOrders.count) : 0),
    changes,
    purchaseOrder: (index) => purchaseOrders.at(index),
    cdc,
    events: () => eventStream(resolved, merchants, pickMerchant, purchaseOrders),
  };
}
