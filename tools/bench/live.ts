import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { expectedFor, VOUCHER_KINDS } from "../../test/oracle/expected.js";
import { SIMULATION_PARTITIONS, simulateCommand } from "../simulate/command.js";
import { ensureSimulationTopics } from "../simulate/publish.js";
import { startCli } from "./cli-process.js";
import { type CoresInSlice, type CpuReading, coresBySlice, sampleCpu } from "./cpu.js";
import { freePort } from "./free-port.js";
import { AckTimes, type LatencySample, p99ByWindow, percentiles, publishingSpan } from "./latency.js";
import { withBenchSetup } from "./setup.js";
import { verifyBooks } from "./verify.js";

export interface LiveBenchOptions {
  /** Events published per second, paced. */
  rate: number;
  seconds: number;
  merchants: number;
  seed: number;
  keep: boolean;
}

/** A booked voucher with no progress for this long ends the wait: something is stuck. */
const STALL_MS = 60_000;

/**
 * `finance-posting bench --live`: one real `run` process (the command operators deploy),
 * events published to it at a steady pace, and the time from each event's broker ack to its
 * voucher in Postgres (voucher.posted_at, set when the sink's flush began, so its commit comes
 * a flush duration later). Then the books are verified as after a replay.
 */
export async function benchLive(options: LiveBenchOptions): Promise<void> {
  await withBenchSetup(options.keep, async ({ env, bench, admin }) => {
    // Upstream's topics exist before finance-posting is deployed: `run` waits for them, not ready.
    await ensureSimulationTopics(admin, SIMULATION_PARTITIONS, bench.log);
    const port = await freePort();
    const events = Math.round(options.rate * options.seconds);
    const expected = expectedFor({ seed: options.seed, merchants: options.merchants, events });
    const vouchers = VOUCHER_KINDS.reduce((n, k) => n + expected.vouchers[k], 0);
    const pool = bench.pool();
    let run: ChildProcess | null = null;
    const cpu = new CpuReadings();
    try {
      const acks = new AckTimes();
      await simulateCommand({
        seed: options.seed,
        merchants: options.merchants,
        events,
        env,
        eventsPerSecond: options.rate,
        onEventsAcked: (ranges, at) => acks.add(ranges, at),
        // As in a deployment, the CDC tables exist when `run` starts: it loads them before it
        // is ready, so the first events measure posting, not the catch-up of a CDC burst.
        beforeEvents: async () => {
          run = startCli(["run"], { ...env, METRICS_PORT: String(port) });
          await untilReady(run, port);
          cpu.start();
        },
        out: (l) => process.stderr.write(`${l}\n`),
      });
      const lastPublish = Date.now();
      cpu.stop();
      await untilBooked(pool, vouchers);
      const drainedMs = Date.now() - lastPublish;
      const samples = await latencies(pool, acks);
      const { first, last } = publishingSpan(samples);
      const cores = coresBySlice(cpu.readings, first, last, WINDOWS);
      const problems = await verifyBooks(pool, expected, null);
      process.stdout.write(`${formatLive(options, events, samples, cores, drainedMs, problems)}\n`);
      if (problems.length > 0) process.exitCode = 1;
    } finally {
      cpu.stop();
      await pool.end();
      if (run) await stopRun(run);
    }
  });
}

/** CPU readings once a second while events are published (none where /proc cannot be read). */
class CpuReadings {
  readonly readings: CpuReading[] = [];
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    this.read();
    this.timer = setInterval(() => this.read(), 1_000);
  }

  /** Takes a last reading, so the last slice ends near the last ack. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.read();
  }

  private read(): void {
    const cpu = sampleCpu();
    if (cpu) this.readings.push({ at: Date.now(), cpu });
  }
}

async function stopRun(run: ChildProcess): Promise<void> {
  if (run.exitCode !== null || run.signalCode !== null) return;
  const exited = once(run, "exit");
  run.kill("SIGTERM");
  await exited;
}

async function untilReady(run: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (run.exitCode !== null) throw new Error(`run exited with code ${run.exitCode} before it was ready`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("run was not ready within 120 s");
}

async function untilBooked(pool: import("pg").Pool, vouchers: number): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) n FROM finance.voucher");
    const n = Number(rows[0]?.n ?? 0);
    if (n >= vouchers) return;
    if (n !== last) [last, lastChange] = [n, Date.now()];
    if (Date.now() - lastChange > STALL_MS)
      throw new Error(`${n} of ${vouchers} vouchers booked, none for ${STALL_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Milliseconds from each event's broker ack to its voucher's posted_at. */
async function latencies(pool: import("pg").Pool, acks: AckTimes): Promise<LatencySample[]> {
  const { rows } = await pool.query<{ topic: string; partition: number; offset: string; posted: string }>(
    `SELECT origin_topic topic, origin_partition "partition", origin_offset::text "offset",
       (extract(epoch FROM posted_at) * 1000)::bigint::text posted FROM finance.voucher`,
  );
  return rows.flatMap((r) => {
    const ackedAt = acks.at(r.topic, r.partition, BigInt(r.offset));
    return ackedAt === null ? [] : [{ ackedAt, ms: Math.max(0, Number(r.posted) - ackedAt) }];
  });
}

/** Slices of the publishing time the p99 is also given for. */
const WINDOWS = 6;

function formatLive(
  o: LiveBenchOptions,
  events: number,
  samples: readonly LatencySample[],
  cores: readonly (CoresInSlice | null)[],
  drainedMs: number,
  problems: string[],
): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const p = percentiles(samples.map((x) => x.ms));
  return [
    `bench --live: ${events.toLocaleString("en-US")} events published at ${o.rate.toLocaleString("en-US")}/s for ${o.seconds} s into one \`run\` process, seed ${o.seed}`,
    p
      ? `  event → posting (broker ack → voucher.posted_at) over ${p.n.toLocaleString("en-US")} vouchers: p50 ${s(p.p50)}, p95 ${s(p.p95)}, p99 ${s(p.p99)}, max ${s(p.max)}`
      : "  no voucher could be matched to a published event",
    ...(p
      ? [
          `  p99 in each ${WINDOWS}th of the publishing time: ${p99ByWindow(samples, WINDOWS).map(s).join(", ")}`,
        ]
      : []),
    ...coresLines(cores),
    `  last voucher booked ${s(drainedMs)} after the last event was acknowledged`,
    problems.length === 0
      ? "  verified: every expected voucher booked exactly once (rows and amounts per kind, ledger lines)"
      : `  NOT VERIFIED:\n    ${problems.join("\n    ")}`,
  ].join("\n");
}

/**
 * Cores per process group in the same slices as the p99: the machine has two, and a broker
 * started a moment ago spends more of them at first (its JVM is still compiling), which is
 * where a first slice's tail comes from when the pipeline's own share is the same as later.
 */
function coresLines(cores: readonly (CoresInSlice | null)[]): string[] {
  if (!cores.some((c) => c !== null)) return [];
  const row = (pick: (c: CoresInSlice) => number) =>
    cores.map((c) => (c ? pick(c).toFixed(2) : "?")).join(", ");
  return [
    `  cores used in each ${WINDOWS}th: finance-posting (run + sink) ${row((c) => c.financePosting)}; broker ${row((c) => c.broker)}; Postgres ${row((c) => c.postgres)}`,
  ];
}
