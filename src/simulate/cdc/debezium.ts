import type { CDC_TOPICS } from "../../topics.js";

/** Debezium's change-event envelope and the seller database's rows, as the CDC topics carry them. */

export interface DebeziumSource {
  version: string;
  connector: string;
  name: string;
  ts_ms: number;
  snapshot: string | null;
  db: string;
  schema: string;
  table: string;
  txId: number | null;
  lsn: number | null;
}

export interface CdcEnvelope<Row> {
  before: Row | null;
  after: Row | null;
  source: DebeziumSource;
  op: string;
  ts_ms: number | null;
}

export interface MerchantRow {
  id: string;
  name: string;
  currency: string;
  status: string;
  created_at: string | null;
}
export interface AccountRow {
  id: string;
  merchant_id: string;
  code: string | null;
  name: string;
  type: string;
  status: string;
}
export interface VendorRow {
  id: string;
  merchant_id: string;
  name: string;
  status: string;
}
export interface PurchaseOrderRow {
  id: string;
  merchant_id: string;
  code: string;
  vendor_id: string;
  status: string;
}

/** One CDC message: its topic, its key ({id}, Avro on the wire) and its envelope. */
export type CdcItem =
  | { topic: typeof CDC_TOPICS.merchant; key: { id: string }; value: CdcEnvelope<MerchantRow> }
  | { topic: typeof CDC_TOPICS.financeAccount; key: { id: string }; value: CdcEnvelope<AccountRow> }
  | { topic: typeof CDC_TOPICS.vendor; key: { id: string }; value: CdcEnvelope<VendorRow> }
  | { topic: typeof CDC_TOPICS.purchaseOrder; key: { id: string }; value: CdcEnvelope<PurchaseOrderRow> };

const SNAPSHOT_TX = 48_213;

/** A snapshot read (`op: "r"`) of `row` from table `table` of the seller database. */
export function snapshotRead<Row>(table: string, row: Row, tsMs: number, lsn: number): CdcEnvelope<Row> {
  const source: DebeziumSource = {
    version: "2.7.3.Final",
    connector: "postgresql",
    name: "nx",
    ts_ms: tsMs,
    snapshot: "true",
    db: "seller",
    schema: "public",
    table,
    txId: SNAPSHOT_TX,
    lsn,
  };
  return { before: null, after: row, source, op: "r", ts_ms: tsMs + 7 };
}
