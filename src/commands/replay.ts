import { groups } from "../config.js";
import { pendingRanges, rangeEnds, rangeTotal } from "../kafka/offsets.js";
import { SINK_TOPICS } from "../sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, CDC_TOPICS } from "../topics.js";
import { PostingService } from "../topology/posting-service.js";
import { formatDuration, startProgress } from "./progress.js";
import { type ReplaySummary, ReplayTally } from "./replay-tally.js";
import { awaitServices, migrateDatabase, runtime } from "./runtime.js";
import { SinkChild } from "./sink-child.js";

export type { ReplaySummary };

/**
 * `finance-posting replay`: consumes the source topics from the committed (or earliest)
 * offsets up to the end offsets captured at start, books everything, commits, and returns a
 * summary. The sink follows the topology and stops once it has committed all it produced.
 */
export async function replayCommand(
  opts: {
    migrate: boolean;
    progress: boolean;
    /** Node options for the sink process (a CPU profile of it, in the bench). */
    sinkExecArgv?: string[];
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ReplaySummary> {
  const resources = runtime(env);
  const { config, kafka, log } = resources;
  const tally = new ReplayTally();
  const started = Date.now();
  const pool = resources.pool();
  await Promise.all([
    awaitServices(resources, config.STARTUP_WAIT_MS),
    opts.migrate ? migrateDatabase(pool, config.STARTUP_WAIT_MS, log) : undefined,
  ]);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const source = await pendingRanges(admin, groups(config).topology, ALL_SOURCE_TOPICS);
    const total = rangeTotal(source);
    log.info({ total, partitions: source.size }, "replay: source events to process");
    const progress = opts.progress ? startProgress(total) : null;
    const posting = new PostingService({
      ...resources,
      pool,
      endOffsets: rangeEnds(source),
      onBatch: (b) => {
        tally.published(b);
        progress?.add(b.events);
      },
    });
    // The sink on the other core: a replay is CPU-bound in both halves.
    const sink = new SinkChild({ env, log, onFlush: tally.flushed, execArgv: opts.sinkExecArgv ?? [] });
    try {
      // CDC rows present at start must reach finance.account too; capture them before we begin.
      const cdcForSink = await pendingRanges(admin, groups(config).sink, [
        CDC_TOPICS.merchant,
        CDC_TOPICS.financeAccount,
      ]);
      await Promise.all([posting.start(), sink.start()]);
      log.info("replay: consuming");
      await Promise.race([posting.reachedEnd(), sink.failure]);
      log.info("replay: source events posted up to the end offsets captured at start");
      // All the topology will produce is on the topics now: the sink's end is known.
      const sinkWork = await pendingRanges(
        admin,
        groups(config).sink,
        SINK_TOPICS.filter((t) => !t.startsWith("nx.")),
      );
      await sink.reached(new Map([...rangeEnds(cdcForSink), ...rangeEnds(sinkWork)]));
      log.info("replay: sink committed everything the topology produced");
    } finally {
      progress?.stop();
      await Promise.all([posting.stop(), sink.stop()]);
    }
  } finally {
    await admin.disconnect();
    await pool.end();
  }
  return tally.summary((Date.now() - started) / 1000);
}

export function formatSummary(s: ReplaySummary): string {
  const row = (label: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    const text = entries.length
      ? entries.map(([k, n]) => `${k} ${n.toLocaleString("en-US")}`).join(", ")
      : "none";
    return `  ${label.padEnd(20)}${text}`;
  };
  return [
    `replay complete in ${formatDuration(s.seconds * 1000)}: ${s.events.toLocaleString("en-US")} events, ${s.eventsPerSecond.toLocaleString("en-US")} events/s`,
    row("events by topic", s.eventsByTopic),
    row("vouchers posted", s.vouchersPosted),
    row("idempotent replays", s.voucherReplays),
    row("skips", s.skips),
    row("dead letters", s.deadLetters),
    `  ${"content conflicts".padEnd(20)}${s.contentConflicts}`,
  ].join("\n");
}
