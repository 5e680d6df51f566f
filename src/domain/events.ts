import type { Money } from "../money.js";

/** Decoded source events, as CONTRACTS.md defines them. Timestamps are epoch millis. */
export interface EventEnvelope {
  eventId: string;
  occurredAt: number;
  merchantId: string;
  currency: string;
}

export interface PaymentAttempt {
  uid: string;
  method: string;
  amount: Money;
  tendered: Money | null;
  finance: { source: { id: string } } | null;
}

export interface PaymentSucceeded extends EventEnvelope {
  saleOrderId: string;
  saleOrderCode: string;
  orderTotal: Money;
  customer: { id: string; name: string } | null;
  attempts: PaymentAttempt[];
}

export interface PurchasePayment {
  uid: string;
  accountId: string;
  amount: Money;
}

export interface PurchaseOrderReceived extends EventEnvelope {
  purchaseOrderId: string;
  receivedValue: Money;
  payments: PurchasePayment[];
}

export interface InventoryIssuedForSale extends EventEnvelope {
  saleOrderId: string;
  saleOrderCode: string | null;
  attemptUid: string;
  costBasis: Money;
}

export interface InventoryAdjusted extends EventEnvelope {
  inventoryTrackingId: string;
  productVariantId: string;
  valueDelta: Money;
  reason: string | null;
}

/** Where an event was read from: carried onto every voucher it produces. */
export interface Origin {
  eventId: string;
  topic: string;
  partition: number;
  offset: number;
}
