import type { CDC_TOPICS, CdcTopic } from "../../topics.js";

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

/** The row each CDC topic carries. */
export interface CdcRows {
  [CDC_TOPICS.merchant]: MerchantRow;
  [CDC_TOPICS.financeAccount]: AccountRow;
  [CDC_TOPICS.vendor]: VendorRow;
  [CDC_TOPICS.purchaseOrder]: PurchaseOrderRow;
}

/** One CDC message: its topic, its key ({id}, Avro on the wire) and its envelope (null: a tombstone). */
export type CdcItem = {
  [T in CdcTopic]: { topic: T; key: { id: string }; value: CdcEnvelope<CdcRows[T]> | null };
}[CdcTopic];

/** Where a row sits in the seller database's log: its transaction and commit time. */
export interface Commit {
  /** The transaction's commit time (`source.ts_ms`); a snapshot's read time for `op = r`. */
  tsMs: number;
  txId: number;
  lsn: number;
  /** How long after the commit the connector wrote the message (the envelope's `ts_ms`). */
  lagMs: number;
}

/** The connector's usual delay between a commit and its message. */
export const CONNECTOR_LAG_MS = 7;

/** Debezium's row ops: a snapshot read, a create, an update, a delete (the simulator writes r, u and d). */
export type Op = "r" | "c" | "u" | "d";

/** The message of `op` on the table of `topic`, committed at `commit`, keyed by the row's id. */
export function cdcMessage<T extends CdcTopic>(
  topic: T,
  op: Op,
  rows: { before: CdcRows[T] | null; after: CdcRows[T] | null },
  commit: Commit,
): CdcItem {
  const id = (rows.after ?? rows.before)?.id;
  if (id === undefined) throw new Error(`a ${op} row on ${topic} needs a row`);
  return { topic, key: { id }, value: envelope(topic, op, rows, commit) } as CdcItem;
}

/** What Debezium writes after a delete, so that compaction can drop the key: no value. */
export const tombstone = (topic: CdcTopic, id: string): CdcItem => ({ topic, key: { id }, value: null });

function envelope<Row>(
  topic: CdcTopic,
  op: Op,
  rows: { before: Row | null; after: Row | null },
  commit: Commit,
): CdcEnvelope<Row> {
  const source: DebeziumSource = {
    version: "2.7.3.Final",
    connector: "postgresql",
    name: "nx",
    ts_ms: commit.tsMs,
    snapshot: op === "r" ? "true" : "false",
    db: "seller",
    schema: "public",
    // Debezium names its topics <prefix>.<schema>.<table>.
    table: topic.slice(topic.lastIndexOf(".") + 1),
    txId: commit.txId,
    lsn: commit.lsn,
  };
  return { before: rows.before, after: rows.after, source, op, ts_ms: commit.tsMs + commit.lagMs };
}
