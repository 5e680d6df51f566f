import type pg from "pg";
import type { ReplaySummary } from "../../src/commands/replay.js";
import { type ExpectedTotals, VOUCHER_KINDS } from "../../test/oracle/expected.js";

/**
 * Compares what a replay booked with what the data set should book (derived from the data by
 * the simulator, independently of the posting rules): rows and amounts per kind, ledger lines,
 * and the replay's own counts. Returns the mismatches; none means every expected voucher is
 * booked exactly once.
 */
export async function verifyBooks(
  pool: pg.Pool,
  expected: ExpectedTotals,
  /** The replay's own counts, checked too; null where the pipeline ran as `run` (bench --live). */
  summary: ReplaySummary | null,
): Promise<string[]> {
  const { rows } = await pool.query<{ kind: string; n: string; amount: string }>(
    "SELECT kind, count(*) n, sum(amount)::numeric(30,4)::text amount FROM finance.voucher GROUP BY kind",
  );
  const lines = await pool.query<{ n: string }>("SELECT count(*) n FROM finance.ledger_line");
  const booked = new Map(rows.map((r) => [r.kind, r]));
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, wanted: unknown) => {
    if (String(actual) !== String(wanted)) problems.push(`${what}: ${actual}, expected ${wanted}`);
  };
  for (const kind of VOUCHER_KINDS) {
    expect(`${kind} rows`, booked.get(kind)?.n ?? 0, expected.vouchers[kind]);
    expect(`${kind} amount`, booked.get(kind)?.amount ?? "0.0000", expected.amounts[kind]);
    if (!summary) continue;
    expect(`${kind} posted by the replay`, summary.vouchersPosted[kind] ?? 0, expected.vouchers[kind]);
    expect(`${kind} idempotent replays`, summary.voucherReplays[kind] ?? 0, expected.replays[kind]);
  }
  expect("ledger lines", lines.rows[0]?.n, expected.ledgerLines);
  if (summary) expect("content conflicts", summary.contentConflicts, 0);
  return problems;
}
