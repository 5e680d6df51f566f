import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayCommand } from "../../src/commands/replay.js";
import { groups } from "../../src/config.js";
import { pendingRanges } from "../../src/kafka/offsets.js";
import { presentTopics } from "../../src/kafka/topic-presence.js";
import { ALL_SOURCE_TOPICS, VOUCHER_TOPIC } from "../../src/topics.js";
import { expectedFor } from "../../test/oracle/expected.js";
import { bareCopies, bareSourcePass, bareVoucherPasses, highWatermarks, rangesBetween } from "./baselines.js";
import { runCli } from "./cli-process.js";
import { cpuBetween, ResidentMemory, sampleCpu } from "./cpu.js";
import { clientFloorLines } from "./floor.js";
import { startProfile } from "./profile.js";
import { withBenchSetup } from "./setup.js";
import { stageCostLine, stageCosts } from "./stages.js";
import { verifyBooks } from "./verify.js";

export interface BenchOptions {
  events: number;
  merchants: number;
  seed: number;
  keep: boolean;
  /** Where to write a CPU profile of the replay (.cpuprofile, for Chrome DevTools). */
  profile: string | null;
  /** The seller database's changes after the events on the CDC topics (`simulate --no-history`). */
  history: boolean;
  /** Also time the topology's stages in this process on the same records (`stageCosts`). */
  stages: boolean;
}

/**
 * `finance-posting bench`: SPEC §8's headline figure. Generates a data set, replays it from the
 * source topics to committed Postgres rows, and sets the rate beside the same run's physical
 * limits: a bare decoding consumer of the same records, and a bare COPY of the same rows (into
 * keyless tables, and into a copy of the migrated schema); and its CPU beside the client's
 * floor, the three passes an event makes through kafkajs done bare.
 */
export async function benchCommand(options: BenchOptions): Promise<void> {
  await withBenchSetup(options.keep, async ({ env, bench, admin }) => {
    // In a process of its own: generating the data set must not leave its memory in the figures.
    await runCli(
      [
        "simulate",
        "--seed",
        `${options.seed}`,
        "--merchants",
        `${options.merchants}`,
        "--events",
        `${options.events}`,
        ...(options.history ? [] : ["--no-history"]),
      ],
      env,
    );
    const ranges = await pendingRanges(admin, groups(bench.config).topology, ALL_SOURCE_TOPICS);
    const voucherTopicAt = async () =>
      (await presentTopics(admin, [VOUCHER_TOPIC])).length > 0
        ? highWatermarks(admin, VOUCHER_TOPIC)
        : new Map<string, bigint>();
    const vouchersBefore = await voucherTopicAt();
    // Peak resident memory per process (the pipeline and its sink process) and of them together.
    const peakRss = { topology: 0, sink: 0, together: 0 };
    const resident = new ResidentMemory();
    const sampler = setInterval(() => {
      let together = 0;
      for (const [pid, bytes] of resident.sample()) {
        if (pid === process.pid) peakRss.topology = Math.max(peakRss.topology, bytes);
        else peakRss.sink = Math.max(peakRss.sink, bytes);
        together += bytes;
      }
      peakRss.together = Math.max(peakRss.together, together);
    }, 100);
    const profileDir = options.profile ? await mkdtemp(join(tmpdir(), "finance-bench-sink-")) : null;
    const profile = options.profile ? await startProfile() : null;
    const cpuBefore = sampleCpu();
    const summary = await replayCommand(
      {
        migrate: true,
        progress: true,
        sinkExecArgv: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
      },
      env,
    ).finally(() => clearInterval(sampler));
    const cpu = cpuBetween(cpuBefore, sampleCpu());
    const profileFindings =
      profile && options.profile && profileDir ? await profile.stop(options.profile, profileDir) : null;
    // The replay's vouchers: what finance.voucher gained in it (on a stack of its own, only them).
    const voucherRanges = rangesBetween(vouchersBefore, await voucherTopicAt());
    const source = await bareSourcePass(bench.kafka, bench.codec, bench.metrics, ranges);
    const decodeRate = source.records / source.seconds;
    const voucherPasses = await bareVoucherPasses(
      bench.kafka,
      admin,
      bench.codec,
      bench.metrics,
      bench.log,
      VOUCHER_TOPIC,
      voucherRanges,
    );
    const stages = options.stages ? await stageCosts(bench, ranges) : null;
    const pool = bench.pool();
    const expected = expectedFor({
      seed: options.seed,
      merchants: options.merchants,
      events: options.events,
      history: options.history,
    });
    const problems = await verifyBooks(pool, expected, summary);
    const copies = await bareCopies(pool, env.DATABASE_URL as string, bench.log).finally(() => pool.end());
    const copy = copies.keyless;
    const pipelineRate = summary.events / summary.seconds;
    const copyRate = summary.events / copy.seconds;
    const migratedRate = summary.events / copies.migrated.seconds;
    const copyCpu = (c: typeof copy) =>
      c.postgresCpu === null
        ? ""
        : `, Postgres ${perThousand(c.postgresCpu, summary.events)} CPU s per 1k events`;
    const grouped = (n: number) => Math.round(n).toLocaleString("en-US");
    process.stdout.write(
      [
        `bench: ${grouped(summary.events)} events, ${grouped(copy.rows)} Postgres rows (vouchers + ledger lines), seed ${options.seed}`,
        `  pipeline (replay: sources → committed Postgres rows)  ${grouped(pipelineRate)} events/s  (${summary.seconds.toFixed(1)} s)`,
        `  bare consumer, decode only                            ${grouped(decodeRate)} events/s`,
        `  bare COPY of the same rows, no keys or indexes        ${grouped(copyRate)} events/s  (${grouped(copy.rows / copy.seconds)} rows/s${copyCpu(copy)})`,
        `  bare COPY, as migrated (keys, foreign key, indexes)   ${grouped(migratedRate)} events/s  (${grouped(copies.migrated.rows / copies.migrated.seconds)} rows/s${copyCpu(copies.migrated)})`,
        `  pipeline / bare decode  ${(pipelineRate / decodeRate).toFixed(2)}`,
        `  pipeline / bare COPY    ${(pipelineRate / copyRate).toFixed(2)} (no keys), ${(pipelineRate / migratedRate).toFixed(2)} (migrated schema)`,
        `  peak RSS: topology (bench) process ${grouped(peakRss.topology / 1048576)} MiB, sink process ${grouped(peakRss.sink / 1048576)} MiB, together ${grouped(peakRss.together / 1048576)} MiB`,
        ...(cpu
          ? [
              `  CPU seconds per 1,000 events  pipeline ${perThousand(cpu.pipeline, summary.events)} (topology ${perThousand(cpu.topology, summary.events)}, sink ${perThousand(cpu.pipeline - cpu.topology, summary.events)}), broker ${perThousand(cpu.broker, summary.events)}, Postgres ${perThousand(cpu.postgres, summary.events)}`,
            ]
          : []),
        ...clientFloorLines(
          { source, produce: voucherPasses.produce, fetch: voucherPasses.fetch },
          summary.events,
          cpu?.pipeline ?? null,
        ),
        ...(stages ? [stageCostLine(stages)] : []),
        ...(profileFindings ? [profileFindings] : []),
        problems.length === 0
          ? `  verified: every expected voucher booked exactly once (${grouped(copy.rows)} rows, amounts per kind equal)`
          : `  NOT VERIFIED:\n    ${problems.join("\n    ")}`,
      ].join("\n") + "\n",
    );
    if (problems.length > 0) process.exitCode = 1;
  });
}

const perThousand = (seconds: number, events: number) =>
  events > 0 ? ((seconds * 1000) / events).toFixed(3) : "n/a";
