export const SOURCE_TOPICS = {
  paymentSuccess: "payment.success",
  purchaseOrderReceived: "purchase-order.received",
  inventoryIssuedForSale: "inventory.issued-for-sale",
  inventoryAdjusted: "inventory.adjusted",
} as const;
export type SourceTopic = (typeof SOURCE_TOPICS)[keyof typeof SOURCE_TOPICS];
export const ALL_SOURCE_TOPICS: readonly SourceTopic[] = Object.values(SOURCE_TOPICS);

export const CDC_TOPICS = {
  merchant: "nx.seller.public.merchant",
  vendor: "nx.seller.public.vendor",
  purchaseOrder: "nx.seller.public.purchase_order",
  financeAccount: "nx.seller.public.finance_account",
} as const;
export type CdcTopic = (typeof CDC_TOPICS)[keyof typeof CDC_TOPICS];
export const ALL_CDC_TOPICS: readonly CdcTopic[] = Object.values(CDC_TOPICS);

export const VOUCHER_TOPIC = "finance.voucher";
export const DLQ_TOPIC = "finance.posting.dlq";
/** The project's own topics: created when missing by whichever service starts first. */
export const OUTPUT_TOPICS: readonly string[] = [VOUCHER_TOPIC, DLQ_TOPIC];

export const valueSubject = (topic: string) => `${topic}-value`;
export const keySubject = (topic: string) => `${topic}-key`;
