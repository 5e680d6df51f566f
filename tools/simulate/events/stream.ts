import { SOURCE_TOPICS } from "../../../src/topics.js";
import { type ResolvedDatasetOptions, TOPIC_MIX } from "../options.js";
import type { MerchantPicker, SimMerchant } from "../world/merchants.js";
import type { PurchaseOrders } from "../world/purchase-orders.js";
import { badEvent, placedBadEvents } from "./bad-events.js";
import { EventContext } from "./context.js";
import { DuplicateSchedule } from "./duplicates.js";
import { inventoryAdjusted } from "./inventory-adjusted.js";
import { issuedForSale } from "./issued-for-sale.js";
import { type EventDraft, type EventItem, original } from "./item.js";
import { paymentSuccess } from "./payment-success.js";
import { purchaseOrderReceived } from "./purchase-order-received.js";

/**
 * The source events of a data set, `o.events` of them, lazily. At each position: a placed bad
 * event, else a copy that is due, else (with `bad`, at `badRate`) a random bad event, else a
 * fresh event of a topic drawn by TOPIC_MIX, whose copies are then planned.
 */
export function* eventStream(
  o: ResolvedDatasetOptions,
  merchants: readonly SimMerchant[],
  pickMerchant: MerchantPicker,
  purchaseOrders: PurchaseOrders,
): IterableIterator<EventItem> {
  const ctx = new EventContext(o, merchants, pickMerchant);
  const { rng } = ctx;
  const placedBad = placedBadEvents(o);
  const copies = new DuplicateSchedule(rng, o.duplicateRate);
  let nextPurchaseOrder = 0;

  const fresh = (): EventDraft => {
    const r = rng.float();
    let cut = TOPIC_MIX[SOURCE_TOPICS.paymentSuccess];
    if (r < cut) {
      const e = paymentSuccess(ctx, ctx.merchant());
      return original(SOURCE_TOPICS.paymentSuccess, e.saleOrderId, e);
    }
    cut += TOPIC_MIX[SOURCE_TOPICS.purchaseOrderReceived];
    if (r < cut && nextPurchaseOrder < purchaseOrders.count) {
      const e = purchaseOrderReceived(ctx, purchaseOrders.at(nextPurchaseOrder++));
      return original(SOURCE_TOPICS.purchaseOrderReceived, e.purchaseOrderId, e);
    }
    cut += TOPIC_MIX[SOURCE_TOPICS.inventoryIssuedForSale];
    if (r < cut) {
      const e = issuedForSale(ctx);
      return original(SOURCE_TOPICS.inventoryIssuedForSale, e.saleOrderId, e);
    }
    const e = inventoryAdjusted(ctx, ctx.merchant());
    return original(SOURCE_TOPICS.inventoryAdjusted, e.inventoryTrackingId, e);
  };

  for (let seq = 0; seq < o.events; seq++) {
    const placed = placedBad.get(seq);
    if (placed !== undefined) {
      yield at(seq, badEvent(ctx, placed));
      continue;
    }
    const copy = copies.takeDue(seq);
    if (copy !== undefined) {
      yield at(seq, copy);
      continue;
    }
    if (o.bad && rng.chance(o.badRate)) {
      yield at(seq, badEvent(ctx, rng.pick(o.badReasons)));
      continue;
    }
    const item = fresh();
    copies.planCopies(seq, item);
    yield at(seq, item);
  }
}

/** The draft as the item at position `seq`, its fields always in the same order. */
const at = (seq: number, draft: EventDraft): EventItem => ({
  seq,
  topic: draft.topic,
  key: draft.key,
  event: draft.event,
  raw: draft.raw,
  delivery: draft.delivery,
  intended: draft.intended,
});
