import { groups } from "../config.js";
import { pendingRanges, rangeEnds, rangeTotal } from "../kafka/offsets.js";
import { countsBy, metrics, registry } from "../metrics.js";
import { SINK_TOPICS, SinkService } from "../sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, CDC_TOPICS } from "../topics.js";
import { PostingService } from "../topology/posting-service.js";
import { formatDuration, startProgress } from "./progress.js";
import { migrateDatabase, runtime } from "./runtime.js";

export interface ReplaySummary {
  seconds: number;
  events: number;
  eventsPerSecond: number;
  eventsByTopic: Record<string, number>;
  vouchersPosted: Record<string, number>;
  voucherReplays: Record<string, number>;
  skips: Record<string, number>;
  deadLetters: Record<string, number>;
  contentConflicts: number;
}

/**
 * `finance-posting replay`: consumes the source topics from the committed (or earliest)
 * offsets up to the end offsets captured at start, books everything, commits, and returns a
 * summary. The sink follows the topology and stops once it has committed all it produced.
 */
export async function replayCommand(
  opts: { migrate: boolean; progress: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ReplaySummary> {
  const resources = runtime(env);
  // The summary is read from the counters: count this replay only.
  registry.resetMetrics();
  const { config, kafka, log } = resources;
  const started = Date.now();
  const pool = resources.pool();
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (opts.migrate) await migrateDatabase(pool);
    const source = await pendingRanges(admin, groups(config).topology, ALL_SOURCE_TOPICS);
    const total = rangeTotal(source);
    log.info({ total, partitions: source.size }, "replay: source events to process");
    const progress = opts.progress ? startProgress(total) : null;
    const posting = new PostingService({
      ...resources,
      pool,
      endOffsets: rangeEnds(source),
      onBatch: (b) => progress?.add(b.events),
    });
    const sink = new SinkService({ ...resources, pool });
    try {
      // CDC rows present at start must reach finance.account too; capture them before we begin.
      const cdcForSink = await pendingRanges(admin, groups(config).sink, [
        CDC_TOPICS.merchant,
        CDC_TOPICS.financeAccount,
      ]);
      await Promise.all([posting.start(), sink.start()]);
      log.info("replay: consuming");
      await posting.reachedEnd();
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
  return summarize((Date.now() - started) / 1000);
}

async function summarize(seconds: number): Promise<ReplaySummary> {
  const eventsByTopic = await countsBy(metrics.eventsConsumed, "topic");
  const events = Object.values(eventsByTopic).reduce((a, b) => a + b, 0);
  const deadLetters = await countsBy(metrics.deadLetters, "reason");
  return {
    seconds,
    events,
    eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : 0,
    eventsByTopic,
    vouchersPosted: await countsBy(metrics.vouchersPosted, "kind"),
    voucherReplays: await countsBy(metrics.voucherReplays, "kind"),
    skips: await countsBy(metrics.skips, "reason"),
    deadLetters,
    contentConflicts: (await metrics.contentConflicts.get()).values.reduce((n, v) => n + v.value, 0),
  };
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
