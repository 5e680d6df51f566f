import type { CDC_TOPICS, CdcTopic } from "../../../src/topics.js";

/** Debezium's change-event envelope and the seller database's rows, as the CDC topics carry them. */

/**
 * Debezium's source block, as the PostgreSQL connector 3.6 writes it (field order included):
 * `sequence` is `[last commit LSN, LSN]` as JSON text (numbers as strings, the first null before
 * a commit has been streamed); `ts_us`/`ts_ns` are `ts_ms` in micro/nanoseconds (the commit,
 * or the snapshot's start); `xmin`, `origin`, `origin_lsn` are null unless configured.
 */
export interface DebeziumSource {
  version: string;
  connector: string;
  name: string;
  ts_ms: number;
  snapshot: SnapshotMarker | null;
  db: string;
  sequence: string | null;
  ts_us: number | null;
  /** Epoch nanoseconds: past 2^53, a bigint. */
  ts_ns: bigint | null;
  schema: string;
  table: string;
  txId: number | null;
  lsn: number | null;
  xmin: number | null;
  origin: string | null;
  origin_lsn: number | null;
}

/** Debezium's transaction block (`provide.transaction.metadata=true`); the simulator writes null, as the connector's default does. */
export interface TransactionBlock {
  id: string;
  total_order: number;
  data_collection_order: number;
}

export interface CdcEnvelope<Row> {
  before: Row | null;
  after: Row | null;
  source: DebeziumSource;
  transaction: TransactionBlock | null;
  op: string;
  /** When the connector wrote the message (ms, µs, ns). */
  ts_ms: number | null;
  ts_us: number | null;
  ts_ns: bigint | null;
}

/**
 * `source.snapshot`: `false` for a streamed row; in the initial snapshot `first` (its very first
 * row), `first_in_data_collection` / `last_in_data_collection` (a table's first / last row),
 * `last` (its very last row), `true` for the others. (`incremental`: an incremental snapshot's
 * rows, which the simulator does not write.)
 */
export type SnapshotMarker =
  | "first"
  | "first_in_data_collection"
  | "true"
  | "last_in_data_collection"
  | "last"
  | "false"
  | "incremental";

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
  /** The transaction's commit time (`source.ts_ms`); a snapshot's start for `op = r`. */
  tsMs: number;
  /** The microseconds within `tsMs` (0–999): `source.ts_us` is `tsMs` × 1000 + this. */
  subMs?: number;
  txId: number;
  lsn: number;
  /** The LSN of the last commit streamed before this row (`sequence`'s first element); null in a snapshot. */
  lastCommitLsn?: number | null;
  /** How long after `tsMs` the connector wrote the message (the envelope's `ts_ms`). */
  lagMs: number;
  /** `source.snapshot` of a snapshot read (op `r`); a streamed row's is `false`. */
  snapshot?: SnapshotMarker;
}

/** The connector version whose records the simulator writes (`source.version`). */
export const DEBEZIUM_VERSION = "3.6.1.Final";

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

/** Debezium's `topic.prefix` (`source.name`) of a topic `<prefix>.public.<table>`. */
function topicPrefix(topic: string): string {
  const at = topic.lastIndexOf(".public.");
  return at > 0 ? topic.slice(0, at) : "nx.seller";
}

function envelope<Row>(
  topic: CdcTopic,
  op: Op,
  rows: { before: Row | null; after: Row | null },
  commit: Commit,
): CdcEnvelope<Row> {
  const subMs = commit.subMs ?? 0;
  const tsUs = commit.tsMs * 1000 + subMs;
  const source: DebeziumSource = {
    version: DEBEZIUM_VERSION,
    connector: "postgresql",
    // The connector's topic.prefix: its topics are <prefix>.<schema>.<table>.
    name: topicPrefix(topic),
    ts_ms: commit.tsMs,
    snapshot: op === "r" ? (commit.snapshot ?? "true") : "false",
    db: "seller",
    sequence: JSON.stringify([
      commit.lastCommitLsn == null ? null : String(commit.lastCommitLsn),
      String(commit.lsn),
    ]),
    // Postgres keeps commit times in microseconds: the connector's ts_ns ends in 000.
    ts_us: tsUs,
    ts_ns: BigInt(tsUs) * 1000n,
    schema: "public",
    table: topic.slice(topic.lastIndexOf(".") + 1),
    txId: commit.txId,
    lsn: commit.lsn,
    xmin: null,
    origin: null,
    origin_lsn: null,
  };
  // The connector's own clock, to the nanosecond: the sub-millisecond part drawn from the LSN and the time.
  const emittedMs = commit.tsMs + commit.lagMs;
  const subMsNs = (commit.lsn * 7_919 + (emittedMs % 1_000_003) * 104_729) % 1_000_000;
  const emittedNs = BigInt(emittedMs) * 1_000_000n + BigInt(subMsNs);
  return {
    before: rows.before,
    after: rows.after,
    source,
    transaction: null,
    op,
    ts_ms: emittedMs,
    ts_us: Number(emittedNs / 1000n),
    ts_ns: emittedNs,
  };
}
