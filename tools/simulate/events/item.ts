import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../../../src/domain/events.js";
import type { DeadLetterReason } from "../../../src/errors.js";
import type { SourceTopic } from "../../../src/topics.js";

export type SourceEvent =
  | PaymentSucceeded
  | PurchaseOrderReceived
  | InventoryIssuedForSale
  | InventoryAdjusted;

/** ORIGINAL: first publication; REDELIVERY: the same record (same bytes) again; REPUBLICATION: same content, new eventId. */
export type Delivery = "ORIGINAL" | "REDELIVERY" | "REPUBLICATION";

/** One message of the event stream. */
export interface EventItem {
  /** Position in the stream, 0..events-1. */
  seq: number;
  topic: SourceTopic;
  /** The contract key (saleOrderId, purchaseOrderId, saleOrderId, inventoryTrackingId), UTF-8 on the wire. */
  key: string;
  /** The record to Avro-encode with the topic's value schema; null when `raw` is set. */
  event: SourceEvent | null;
  /** Bytes to publish as they are (garbage for UNDECODABLE); null for a normal event. */
  raw: Buffer | null;
  delivery: Delivery;
  /** What the generator meant this event to be dead-lettered for; null for a good event. */
  intended: DeadLetterReason | null;
}

/** An EventItem before it has its place in the stream. */
export type EventDraft = Omit<EventItem, "seq">;

/** A good event's first publication. */
export const original = (topic: SourceTopic, key: string, event: SourceEvent): EventDraft => ({
  topic,
  key,
  event,
  raw: null,
  delivery: "ORIGINAL",
  intended: null,
});
