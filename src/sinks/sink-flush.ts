import type { Pool } from "pg";
import { type DeadLetterRecord, deadLetterAt, type SourceRecord } from "../deadletter/records.js";
import { insertDeadLetters } from "../deadletter/store.js";
import type { Account } from "../domain/accounts.js";
import { PostingFailedError } from "../errors.js";
import type { Logger } from "../log.js";
import type { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import { type AccountWriteMode, upsertAccounts } from "./account-writer.js";
import { type BookableVoucher, bookableVoucher } from "./bookable-voucher.js";
import { isolateRefusals, type Refusal } from "./isolate-refusals.js";
import { unwritableReason, writeCheckedVoucherBatch } from "./postgres-writer.js";
import type { VoucherJson } from "./voucher-json.js";

/** One thing to book, with the Kafka record it came from, so a refused one is dead-lettered as it arrived. */
export type SinkWork = { source: SourceRecord } & (
  | { kind: "voucher"; voucher: BookableVoucher }
  /** A voucher that cannot be booked as it is: dead-lettered by the flush, on its own. */
  | { kind: "unwritable"; reason: string }
  | { kind: "deadLetter"; record: DeadLetterRecord }
  | { kind: "account"; account: Account; mode: AccountWriteMode }
);

/**
 * A voucher the sink has read, as work: bookable, or unwritable (a posting bug, or content
 * Postgres would refuse; see unwritableReason). `json` gives the whole voucher again when a
 * rare path needs it (see BookableVoucher).
 */
export function voucherWork(v: VoucherJson, source: SourceRecord, json?: () => VoucherJson): SinkWork {
  const reason = unwritableReason(v);
  return reason === null
    ? { kind: "voucher", voucher: bookableVoucher(v, json), source }
    : { kind: "unwritable", reason, source };
}

type WorkOf<K extends SinkWork["kind"]> = Extract<SinkWork, { kind: K }>;

/** What one flush booked, for the replay summary; the same figures go to the metrics. */
export interface FlushOutcome {
  /** Vouchers newly booked, per kind. */
  posted: Record<string, number>;
  /** Vouchers already booked with the same content (idempotent replays), per kind. */
  replays: Record<string, number>;
  contentConflicts: number;
  /** Writes Postgres refused for their content (or the pre-check did), one per row. */
  refused: number;
  /** Kafka records stored as POSTING_FAILED dead letters for those refusals. */
  postingFailed: number;
}

/** Where a flush logs and counts what it did. */
export interface FlushResources {
  log: Logger;
  metrics: Metrics;
  /** Lines for records Postgres refused, one by one up to a rate (the service's, across flushes). */
  refusedLog?: LogRateLimit;
}

const addCounts = (into: Record<string, number>, counts: Record<string, number>) => {
  for (const [k, n] of Object.entries(counts)) into[k] = (into[k] ?? 0) + n;
};

async function bookVouchers(
  pool: Pool,
  { log, metrics }: FlushResources,
  vouchers: readonly BookableVoucher[],
  outcome: FlushOutcome,
): Promise<void> {
  const result = await writeCheckedVoucherBatch(pool, log, vouchers);
  for (const [kind, n] of Object.entries(result.inserted)) metrics.vouchersPosted.inc({ kind }, n);
  for (const [kind, n] of Object.entries(result.replayed)) metrics.voucherReplays.inc({ kind }, n);
  metrics.contentConflicts.inc(result.conflicts.length);
  metrics.voucherWrites.inc({ via: result.via });
  addCounts(outcome.posted, result.inserted);
  addCounts(outcome.replays, result.replayed);
  outcome.contentConflicts += result.conflicts.length;
  const now = Date.now();
  for (const v of vouchers) metrics.eventToPostingSeconds.observe(Math.max(0, now - v.occurredAt) / 1000);
}

const accountOf = (w: WorkOf<"account">) => w.account;
const recordOf = (w: WorkOf<"deadLetter">) => w.record;
const voucherOf = (w: WorkOf<"voucher">) => w.voucher;

/**
 * Books one flush: accounts, dead letters, then vouchers. Each write step isolates the records
 * Postgres refuses for their content (and vouchers that fail the pre-check), books the rest and
 * returns what was refused. Outages and other errors are thrown, so the flush is retried whole;
 * every step is idempotent.
 */
async function bookAll(
  pool: Pool,
  resources: FlushResources,
  work: readonly SinkWork[],
  outcome: FlushOutcome,
): Promise<Refusal<SinkWork>[]> {
  const ofKind = <K extends SinkWork["kind"]>(kind: K) => work.filter((w): w is WorkOf<K> => w.kind === kind);
  const accountsIn = (mode: AccountWriteMode) => ofKind("account").filter((w) => w.mode === mode);
  const upsert = (mode: AccountWriteMode) => (ws: readonly WorkOf<"account">[]) =>
    upsertAccounts(pool, ws.map(accountOf), mode);
  const unwritable = ofKind("unwritable").map((w) => ({ item: w, error: new PostingFailedError(w.reason) }));
  // Steps run one after another. Seeding goes before CDC rows: it only creates what is
  // missing, so a merchant's later rename stands.
  return [
    ...(await isolateRefusals(accountsIn("insertMissing"), upsert("insertMissing"))),
    ...(await isolateRefusals(accountsIn("replace"), upsert("replace"))),
    ...(await isolateRefusals(ofKind("deadLetter"), (ws) => insertDeadLetters(pool, ws.map(recordOf)))),
    ...unwritable,
    ...(await isolateRefusals(ofKind("voucher"), (ws) =>
      bookVouchers(pool, resources, ws.map(voucherOf), outcome),
    )),
  ];
}

const itemOf = <T>(r: Refusal<T>) => r.item;

type Place = Pick<DeadLetterRecord, "topic" | "partition" | "offset">;
const placeOf = ({ topic, partition, offset }: Place) => ({ topic, partition, offset: String(offset) });

/**
 * Stores each refused record as a POSTING_FAILED dead letter at its own topic, partition and
 * offset, so its partition moves on. A dead letter Postgres refuses too is only logged: the
 * record is still on Kafka, and retrying it would stall the sink forever.
 */
async function deadLetterRefused(
  pool: Pool,
  { log, metrics, refusedLog }: FlushResources,
  refused: readonly Refusal<SinkWork>[],
): Promise<number> {
  // one dead letter per Kafka record, however many rows it carried (a merchant seeds several accounts)
  const letters = new Map<string, Refusal<DeadLetterRecord>>();
  for (const { item, error } of refused) {
    const id = JSON.stringify(placeOf(item.source));
    if (!letters.has(id))
      letters.set(id, { item: deadLetterAt(item.source, "POSTING_FAILED", error.message), error });
  }
  const all = [...letters.values()];
  const unstorable = await isolateRefusals(all.map(itemOf), (ls) => insertDeadLetters(pool, ls));
  const lost = new Map(unstorable.map((u) => [u.item, u.error]));
  let stored = 0;
  for (const { item, error } of all) {
    const place = placeOf(item);
    metrics.errors.inc({ stage: "sink", type: PostingFailedError.name });
    const deadLetterError = lost.get(item);
    const logged = refusedLog?.allow(item.topic) ?? true;
    if (deadLetterError) {
      if (logged)
        log.error(
          { ...place, err: error, deadLetterError },
          "sink: Postgres refused a record and its dead letter; not stored, the record is only on Kafka",
        );
      continue;
    }
    metrics.deadLetters.inc({ topic: item.topic, reason: "POSTING_FAILED" });
    stored++;
    if (logged)
      log.error(
        { ...place, err: error },
        "sink: Postgres refused a record for its content; stored as a dead letter",
      );
  }
  return stored;
}

/** Books a flush, dead-letters what Postgres refused, and returns what it booked. */
export async function flushSinkWork(
  pool: Pool,
  resources: FlushResources,
  work: readonly SinkWork[],
): Promise<FlushOutcome> {
  const outcome: FlushOutcome = {
    posted: {},
    replays: {},
    contentConflicts: 0,
    refused: 0,
    postingFailed: 0,
  };
  const refused = await bookAll(pool, resources, work, outcome);
  outcome.refused = refused.length;
  outcome.postingFailed = await deadLetterRefused(pool, resources, refused);
  return outcome;
}
