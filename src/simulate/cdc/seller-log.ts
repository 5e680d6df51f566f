import { CONNECTOR_LAG_MS, type Commit } from "./debezium.js";

/** Bytes of WAL a simulated row takes: only the order of LSNs matters. */
const LSN_STEP = 152;

/**
 * The seller database's log as the simulator writes it: transactions in commit order, each
 * row with the next LSN. One log runs through a data set's snapshot and its later changes, so
 * commit times and LSNs only ever grow, and rows of one key come in commit order.
 */
export class SellerLog {
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
    this.tsMs = tsMs;
    this.txId++;
  }

  /** Where the next row of the current transaction sits. */
  row(): Commit {
    this.lsn += LSN_STEP;
    return { tsMs: this.tsMs, txId: this.txId, lsn: this.lsn, lagMs: CONNECTOR_LAG_MS };
  }
}

/** The log of a data set: its snapshot is read in one transaction an hour before the first event. */
export const sellerLog = (start: number) => new SellerLog(start - 3_600_000, 48_213, 24_000_000);
