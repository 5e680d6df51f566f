import { randomUUID } from "node:crypto";
import { seededAccountId } from "../../src/ids.js";
import { money } from "../../src/money.js";
import { CDC_TOPICS, keySubject, SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import { debezium, produce, type TestKafka } from "./pipeline.js";

/**
 * One merchant's day, the spec's examples in one place: a split tender with cash change
 * (delivered three times: once, redelivered byte for byte, re-published with a new eventId),
 * an unrouted attempt, a purchase with two payments and paid < received, COGS (positive and
 * zero), a negative adjustment with a reason — and one bad event per dead-letter reason.
 */
export function scenarioIds() {
  const run = randomUUID().slice(0, 8);
  const M = `m-${run}`;
  return {
    run,
    M,
    OTHER: `m2-${run}`,
    BANK: `bank-${run}`,
    VENDOR: `vendor-${run}`,
    PO: `po-${run}`,
    SO: `so-${run}`,
    IT: `it-${run}`,
    CASH: seededAccountId(M, "CASH"),
    acct: (code: string) => seededAccountId(M, code),
  };
}
export type ScenarioIds = ReturnType<typeof scenarioIds>;

export interface PublishedScenario {
  bad: Record<"garbage" | "invalid" | "crossTenant" | "unresolved", Buffer>;
}

const T0 = Date.UTC(2026, 0, 15, 3, 0, 0);

async function cdc(k: TestKafka, topic: string, table: string, op: string, row: Record<string, unknown>) {
  const key = k.codec.encode(k.schemaIds.get(keySubject(topic)) ?? 0, { id: row.id });
  const value = k.codec.encode(k.schemaIds.get(valueSubject(topic)) ?? 0, debezium(table, op, row));
  await produce(k.kafka, topic, [{ key, value }]);
}

/** A purchase order of the scenario's merchant and vendor, as the purchase-order CDC topic carries it. */
export async function publishPurchaseOrder(
  k: TestKafka,
  ids: ScenarioIds,
  id: string,
  code: string,
): Promise<void> {
  await cdc(k, CDC_TOPICS.purchaseOrder, "purchase_order", "r", {
    id,
    merchant_id: ids.M,
    code,
    vendor_id: ids.VENDOR,
    status: "RECEIVED",
  });
}

/**
 * A purchase-order-received event of the scenario's merchant, paid from its cash account, for a
 * purchase order `po` the CDC topics may not hold yet (an event that waits for its reference).
 */
export function purchaseOrderEvent(k: TestKafka, ids: ScenarioIds, po: string, eventId: string): Buffer {
  return k.codec.encode(k.schemaIds.get(valueSubject(SOURCE_TOPICS.purchaseOrderReceived)) ?? 0, {
    eventId,
    occurredAt: Date.UTC(2026, 0, 15),
    merchantId: ids.M,
    currency: "VND",
    purchaseOrderId: po,
    receivedValue: money("10"),
    payments: [{ uid: "p", accountId: ids.CASH, amount: money("10") }],
  });
}

export async function publishCdc(k: TestKafka, ids: ScenarioIds): Promise<void> {
  const merchant = (id: string, name: string) => ({
    id,
    name,
    currency: "VND",
    status: "ACTIVE",
    created_at: null,
  });
  await cdc(k, CDC_TOPICS.merchant, "merchant", "r", merchant(ids.M, "Lan's shop"));
  await cdc(k, CDC_TOPICS.merchant, "merchant", "c", merchant(ids.OTHER, "Other shop"));
  await cdc(k, CDC_TOPICS.financeAccount, "finance_account", "r", {
    id: ids.BANK,
    merchant_id: ids.M,
    code: "BANK_1",
    name: "Vietcombank",
    type: "MONEY",
    status: "ACTIVE",
  });
  await cdc(k, CDC_TOPICS.vendor, "vendor", "r", {
    id: ids.VENDOR,
    merchant_id: ids.M,
    name: "Công ty Sữa",
    status: "ACTIVE",
  });
  await publishPurchaseOrder(k, ids, ids.PO, "PO-000777");
}

export async function publishEvents(k: TestKafka, ids: ScenarioIds): Promise<PublishedScenario> {
  const encode = (topic: string, value: unknown) =>
    k.codec.encode(k.schemaIds.get(valueSubject(topic)) ?? 0, value);
  const envelope = (eventId: string) => ({ eventId, occurredAt: T0, merchantId: ids.M, currency: "VND" });
  const sale = (eventId: string) => ({
    ...envelope(eventId),
    saleOrderId: ids.SO,
    saleOrderCode: "SO-000123",
    orderTotal: money("200001.5"),
    customer: { id: `cust-${ids.run}`, name: "Nguyễn Thị Lan" },
    attempts: [
      {
        uid: "att-cash",
        method: "CASH",
        amount: money("150000"),
        tendered: money("200000"),
        finance: { source: { id: ids.CASH } },
      },
      {
        uid: "att-card",
        method: "CARD",
        amount: money("50000.5"),
        tendered: null,
        finance: { source: { id: ids.BANK } },
      },
      { uid: "att-none", method: "EWALLET", amount: money("1"), tendered: null, finance: null },
    ],
  });
  const bad = {
    garbage: Buffer.from(`definitely not avro ${ids.run}`),
    invalid: encode(SOURCE_TOPICS.paymentSuccess, {
      ...sale(`evt-invalid-${ids.run}`),
      saleOrderId: `so-invalid-${ids.run}`,
      attempts: [
        {
          uid: "a",
          method: "CASH",
          amount: money("10"),
          tendered: money("5"),
          finance: { source: { id: ids.CASH } },
        },
      ],
    }),
    // Merchant M pays into the other merchant's cash drawer.
    crossTenant: encode(SOURCE_TOPICS.paymentSuccess, {
      ...sale(`evt-xt-${ids.run}`),
      saleOrderId: `so-xt-${ids.run}`,
      attempts: [
        {
          uid: "a",
          method: "CARD",
          amount: money("10"),
          tendered: null,
          finance: { source: { id: seededAccountId(ids.OTHER, "CASH") } },
        },
      ],
    }),
    unresolved: encode(SOURCE_TOPICS.purchaseOrderReceived, {
      ...envelope(`evt-nopo-${ids.run}`),
      purchaseOrderId: `po-missing-${ids.run}`,
      receivedValue: money("1"),
      payments: [{ uid: "p", accountId: ids.CASH, amount: money("1") }],
    }),
  };
  const saleBytes = encode(SOURCE_TOPICS.paymentSuccess, sale(`evt-sale-${ids.run}`));
  await produce(k.kafka, SOURCE_TOPICS.paymentSuccess, [
    { key: ids.SO, value: saleBytes },
    { key: ids.SO, value: saleBytes },
    { key: ids.SO, value: encode(SOURCE_TOPICS.paymentSuccess, sale(`evt-sale-again-${ids.run}`)) },
    { key: "garbage", value: bad.garbage, headers: { "x-trace": `trace-${ids.run}` } },
    { key: `so-invalid-${ids.run}`, value: bad.invalid },
    { key: `so-xt-${ids.run}`, value: bad.crossTenant },
  ]);
  await produce(k.kafka, SOURCE_TOPICS.purchaseOrderReceived, [
    {
      key: ids.PO,
      value: encode(SOURCE_TOPICS.purchaseOrderReceived, {
        ...envelope(`evt-po-${ids.run}`),
        purchaseOrderId: ids.PO,
        receivedValue: money("1000000"),
        payments: [
          { uid: "p1", accountId: ids.CASH, amount: money("300000") },
          { uid: "p2", accountId: ids.BANK, amount: money("200000.25") },
        ],
      }),
    },
    { key: "po-missing", value: bad.unresolved },
  ]);
  const issue = (eventId: string, attemptUid: string, costBasis: string) =>
    encode(SOURCE_TOPICS.inventoryIssuedForSale, {
      ...envelope(eventId),
      saleOrderId: ids.SO,
      saleOrderCode: "SO-000123",
      attemptUid,
      costBasis: money(costBasis),
    });
  await produce(k.kafka, SOURCE_TOPICS.inventoryIssuedForSale, [
    { key: ids.SO, value: issue(`evt-cogs-${ids.run}`, "att-cash", "90000.1234") },
    { key: ids.SO, value: issue(`evt-cogs0-${ids.run}`, "att-card", "0") },
  ]);
  await produce(k.kafka, SOURCE_TOPICS.inventoryAdjusted, [
    {
      key: ids.IT,
      value: encode(SOURCE_TOPICS.inventoryAdjusted, {
        ...envelope(`evt-adj-${ids.run}`),
        inventoryTrackingId: ids.IT,
        productVariantId: "pv",
        valueDelta: money("-25000.5"),
        reason: "Hàng hỏng",
      }),
    },
  ]);
  return { bad };
}

/** What the scenario books: 6 distinct vouchers, 12 voucher records (the sale three times). */
export const SCENARIO = {
  voucherRecords: 12,
  distinctVouchers: 6,
  ledgerLines: 15,
  deadLetters: 4,
  posted: {
    SALE_RECEIPT: 2,
    SALE_CHANGE_RETURN: 1,
    PURCHASE_PAYMENT: 1,
    SALE_COGS: 1,
    INVENTORY_ADJUSTMENT: 1,
  },
  skips: { NO_FINANCE_ROUTING: 3, ZERO_COST_BASIS: 1 },
} as const;
