import { pino } from "pino";
import { applyCdc, type CdcOutcome, type CdcRecord } from "../../src/enrich/cdc.js";
import type { MaterializedTables } from "../../src/enrich/tables.js";
import { CDC_TOPICS, type CdcTopic } from "../../src/topics.js";

/**
 * Debezium change records for unit tests of the versioned CDC tables (SPEC §5 "Time"): each row
 * carries its source commit time in `source.ts_ms`. The connector's own `ts_ms` is set later on
 * purpose, so a test that passes proves the tables use the source's time.
 */
export const quiet = pino({ level: "silent" });

/** How much later than the source commit the connector stamps its own `ts_ms`. */
export const CONNECTOR_LAG_MS = 7_000;

export type Op = "c" | "r" | "u";
export type Row = Record<string, unknown> & { id: string };

/** A create, update or snapshot read of `after`, committed in the source at `at`. */
export const change = (topic: CdcTopic, op: Op, after: Row, at: number): CdcRecord => ({
  topic,
  key: { id: after.id },
  value: { before: null, after, op, source: { ts_ms: at }, ts_ms: at + CONNECTOR_LAG_MS },
});

/** A delete committed at `at`; Debezium's `before` is often null (no REPLICA IDENTITY FULL). */
export const deletion = (topic: CdcTopic, id: string, at: number, before: Row | null = null): CdcRecord => ({
  topic,
  key: { id },
  value: { before, after: null, op: "d", source: { ts_ms: at }, ts_ms: at + CONNECTOR_LAG_MS },
});

/** The compaction marker Debezium writes after a delete. */
export const tombstone = (topic: CdcTopic, id: string): CdcRecord => ({ topic, key: { id }, value: null });

export const merchantRow = (id: string, over: Record<string, unknown> = {}): Row => ({
  id,
  name: `Shop ${id}`,
  currency: "VND",
  status: "ACTIVE",
  created_at: null,
  ...over,
});

export const accountRow = (id: string, merchantId: string, over: Record<string, unknown> = {}): Row => ({
  id,
  merchant_id: merchantId,
  code: `CODE_${id}`,
  name: `Account ${id}`,
  type: "MONEY",
  status: "ACTIVE",
  ...over,
});

export const vendorRow = (id: string, merchantId: string, over: Record<string, unknown> = {}): Row => ({
  id,
  merchant_id: merchantId,
  name: `Vendor ${id}`,
  status: "ACTIVE",
  ...over,
});

export const poRow = (
  id: string,
  merchantId: string,
  vendorId: string,
  over: Record<string, unknown> = {},
): Row => ({
  id,
  merchant_id: merchantId,
  code: `PO-${id}`,
  vendor_id: vendorId,
  status: "RECEIVED",
  ...over,
});

/** Shorthands by table. */
export const merchant = (op: Op, row: Row, at: number) => change(CDC_TOPICS.merchant, op, row, at);
export const account = (op: Op, row: Row, at: number) => change(CDC_TOPICS.financeAccount, op, row, at);
export const vendor = (op: Op, row: Row, at: number) => change(CDC_TOPICS.vendor, op, row, at);
export const purchaseOrder = (op: Op, row: Row, at: number) => change(CDC_TOPICS.purchaseOrder, op, row, at);

/** Applies the records in order; returns each one's outcome. */
export const applyAll = (tables: MaterializedTables, records: readonly CdcRecord[]): CdcOutcome[] =>
  records.map((r) => applyCdc(tables, r, quiet));
