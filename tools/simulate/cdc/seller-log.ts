import { CONNECTOR_LAG_MS, type Commit, type SnapshotMarker } from "./debezium.js";

/** Bytes of WAL a simulated row takes: only the order of LSNs matters. */
const LSN_STEP = 152;
/** Bytes of WAL a commit record takes. */
const COMMIT_STEP = 56;
/** Rows the connector emits per millisecond of a snapshot (the envelope's `ts_ms` of each). */
const SNAPSHOT_ROWS_PER_MS = 20;

/**
 * The seller database's log as the simulator writes it: transactions in commit order, each
 * row with the next LSN. One log runs through a data set's snapshot and its later changes, so
 * commit times and LSNs only ever grow, and rows of one key come in commit order.
 *
 * As Debezium's PostgreSQL connector writes them: the snapshot's rows all carry the snapshot's
 * transaction, LSN and start time (`source.ts_ms`), each its own emission time (the envelope's
 * `ts_ms`); streamed rows carry their transaction's commit time and their own LSN, and
 * `sequence` names the LSN of the last commit streamed before (none for the first transaction
 * after the snapshot).
 */
export class SellerLog {
  /** The transaction the log is in is the initial snapshot until the first commitAt. */
  private inSnapshot = true;
  private snapshotRows = 0;
  /** Rows of the current streamed transaction. */
  private txRows = 0;
  private lastCommitLsn: number | null = null;

  constructor(
    private tsMs: number,
    private txId: number,
    private lsn: number,
  ) {}

  /** Commit time of the current transaction. */
  get lastCommit(): number {
    return this.tsMs;
  }

  /** Starts the next transaction, committed at `tsMs`. */
  commitAt(tsMs: number): void {
    if (tsMs < this.tsMs) throw new RangeError("the seller database commits in time order");
    if (!this.inSnapshot && this.txRows > 0) {
      // The transaction before this one was streamed: its commit record follows its rows.
      this.lsn += COMMIT_STEP;
      this.lastCommitLsn = this.lsn;
    }
    this.inSnapshot = false;
    this.txRows = 0;
    this.tsMs = tsMs;
    this.txId++;
  }

  /** A row the initial snapshot reads, `marker` its `source.snapshot`. */
  read(marker: SnapshotMarker): Commit {
    if (!this.inSnapshot) throw new Error("the snapshot is read before any change is streamed");
    const k = this.snapshotRows++;
    return {
      tsMs: this.tsMs,
      subMs: subMs(this.txId),
      txId: this.txId,
      lsn: this.lsn,
      lastCommitLsn: null,
      lagMs: CONNECTOR_LAG_MS + Math.floor(k / SNAPSHOT_ROWS_PER_MS),
      snapshot: marker,
    };
  }

  /** Where the next row of the current (streamed) transaction sits. */
  row(): Commit {
    this.lsn += LSN_STEP;
    this.txRows++;
    return {
      tsMs: this.tsMs,
      subMs: subMs(this.txId),
      txId: this.txId,
      lsn: this.lsn,
      lastCommitLsn: this.lastCommitLsn,
      lagMs: CONNECTOR_LAG_MS,
    };
  }
}

/** A transaction's commit time's microseconds within its millisecond, drawn from its id. */
const subMs = (txId: number) => (txId * 379) % 1000;

/** The log of a data set: its snapshot is read in one transaction an hour before the first event. */
export const sellerLog = (start: number) => new SellerLog(start - 3_600_000, 48_213, 24_000_000);
