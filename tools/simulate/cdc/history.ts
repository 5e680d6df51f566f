import { CDC_TOPICS, type CdcTopic } from "../../../src/topics.js";
import { latestOccurredAt } from "../events/context.js";
import type { ResolvedDatasetOptions } from "../options.js";
import { STREAM, streamRng } from "../random.js";
import { type MerchantChanges, recodedPurchaseOrder, type WorldChanges } from "../world/changes.js";
import type { PurchaseOrders } from "../world/purchase-orders.js";
import { type CdcItem, type CdcRows, cdcMessage, tombstone } from "./debezium.js";
import { accountRow, merchantRow, purchaseOrderRow, vendorRow } from "./rows.js";
import type { SellerLog } from "./seller-log.js";

/** The first change is committed this long after the latest time any event can have occurred. */
export const HISTORY_DELAY_MS = 3_600_000;

/** Between two transactions of the history: from a second to two minutes. */
const TX_GAP_MS: readonly [number, number] = [1_000, 120_000];

/** Purchase orders re-coded per transaction (the renumbering commits in batches). */
export const RECODE_BATCH = 500;

/** Rows `history` yields: tombstones included, as they are messages on the topics. */
export function historyRowCount(changes: WorldChanges, purchaseOrders: number): number {
  // An archive, a rename per vendor, a delete and a tombstone per deleted vendor, an owner move.
  const perMerchant = (c: MerchantChanges) => 1 + c.vendorNames.length + 2 * c.deletedVendors.length + 1;
  const merchants = changes.merchants.reduce((n, c) => n + perMerchant(c), 0);
  return merchants + purchaseOrders + (changes.deletedMerchant ? 2 : 0);
}

/**
 * The Debezium change rows of `changes`, all committed after every event (HISTORY_DELAY_MS
 * after the latest possible `occurredAt`), in commit order: accounts archived, vendors renamed,
 * every purchase order re-coded (batches of RECODE_BATCH), vendors deleted (each delete
 * followed by its tombstone), the refused owner moves, and last the merchant deleted. Updates
 * carry no `before` (no REPLICA IDENTITY FULL upstream); deletes carry the row as it was.
 */
export function* history(
  o: ResolvedDatasetOptions,
  log: SellerLog,
  changes: WorldChanges,
  purchaseOrders: PurchaseOrders,
): IterableIterator<CdcItem> {
  const rng = streamRng(o.seed, STREAM.changes, 1);
  let nextCommit = latestOccurredAt(o) + HISTORY_DELAY_MS;
  const commit = () => {
    log.commitAt(nextCommit);
    nextCommit += rng.int(...TX_GAP_MS);
  };
  const update = <T extends CdcTopic>(topic: T, after: CdcRows[T]) =>
    cdcMessage(topic, "u", { before: null, after }, log.row());
  function* remove<T extends CdcTopic>(topic: T, before: CdcRows[T]) {
    yield cdcMessage(topic, "d", { before, after: null }, log.row());
    yield tombstone(topic, before.id);
  }

  for (const { merchant: m, archived } of changes.merchants) {
    commit();
    yield update(CDC_TOPICS.financeAccount, accountRow(m, archived, "ARCHIVED"));
  }
  for (const { merchant: m, vendorNames } of changes.merchants) {
    for (const [k, v] of m.vendors.entries()) {
      commit();
      yield update(CDC_TOPICS.vendor, vendorRow(m, v, vendorNames[k] as string));
    }
  }
  const merchants = changes.merchants.map((c) => c.merchant);
  for (let k = 0; k < purchaseOrders.count; k++) {
    if (k % RECODE_BATCH === 0) commit();
    const po = purchaseOrders.at(k);
    yield update(CDC_TOPICS.purchaseOrder, purchaseOrderRow(merchants, po, recodedPurchaseOrder(po)));
  }
  for (const { merchant: m, deletedVendors } of changes.merchants) {
    for (const v of deletedVendors) {
      commit();
      yield* remove(CDC_TOPICS.vendor, vendorRow(m, v, v.name));
    }
  }
  for (const c of changes.merchants) {
    commit();
    yield update(CDC_TOPICS.financeAccount, ownerMoveRow(c));
  }
  if (changes.deletedMerchant) {
    commit();
    yield* remove(CDC_TOPICS.merchant, merchantRow(changes.deletedMerchant));
  }
}

/** The account as it is by then (archived, if it is the one), claimed by another merchant. */
function ownerMoveRow(c: MerchantChanges) {
  const { account, to } = c.ownerMove;
  return accountRow(c.merchant, account, account === c.archived ? "ARCHIVED" : "ACTIVE", to);
}
