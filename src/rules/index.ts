import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../domain/events.js";
import { SOURCE_TOPICS, type SourceTopic } from "../topics.js";
import { inventoryAdjustmentRule } from "./inventory-adjustment.js";
import { purchasePaymentRule } from "./purchase-payment.js";
import type { PostingRule } from "./rule.js";
import { saleCogsRule } from "./sale-cogs.js";
import { saleReceiptRule } from "./sale-receipt.js";

export type { PostingRule };
export { inventoryAdjustmentRule, purchasePaymentRule, saleCogsRule, saleReceiptRule };

/** The decoded event each source topic carries. */
export interface EventOfTopic {
  [SOURCE_TOPICS.paymentSuccess]: PaymentSucceeded;
  [SOURCE_TOPICS.purchaseOrderReceived]: PurchaseOrderReceived;
  [SOURCE_TOPICS.inventoryIssuedForSale]: InventoryIssuedForSale;
  [SOURCE_TOPICS.inventoryAdjusted]: InventoryAdjusted;
}
export type SourceEvent = EventOfTopic[SourceTopic];

const RULES: { readonly [T in SourceTopic]: PostingRule<EventOfTopic[T]> } = {
  [SOURCE_TOPICS.paymentSuccess]: saleReceiptRule,
  [SOURCE_TOPICS.purchaseOrderReceived]: purchasePaymentRule,
  [SOURCE_TOPICS.inventoryIssuedForSale]: saleCogsRule,
  [SOURCE_TOPICS.inventoryAdjusted]: inventoryAdjustmentRule,
};

export const ALL_RULES: readonly PostingRule<SourceEvent>[] = Object.values(RULES);

/**
 * The posting rule for a source topic. A topic without a rule means the topology subscribed
 * to something it should not have: a bug, so a plain Error rather than a dead letter.
 */
export function ruleFor<T extends SourceTopic>(topic: T): PostingRule<EventOfTopic[T]>;
export function ruleFor(topic: string): PostingRule<SourceEvent>;
export function ruleFor(topic: string): PostingRule<SourceEvent> {
  if (!Object.hasOwn(RULES, topic)) throw new Error(`no posting rule for topic ${topic}`);
  return RULES[topic as SourceTopic] as PostingRule<SourceEvent>;
}
