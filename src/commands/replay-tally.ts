import type { FlushOutcome } from "../sinks/sink-flush.js";
import type { PublishedBatch } from "../topology/publish.js";

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

const add = (counts: Record<string, number>, key: string, n = 1) => {
  counts[key] = (counts[key] ?? 0) + n;
};

/**
 * What a replay did, counted from the pipeline's own reports: each batch the topology
 * published and each flush the sink committed (wherever the sink runs).
 */
export class ReplayTally {
  private readonly eventsByTopic: Record<string, number> = {};
  private readonly skips: Record<string, number> = {};
  private readonly deadLetters: Record<string, number> = {};
  private readonly vouchersPosted: Record<string, number> = {};
  private readonly voucherReplays: Record<string, number> = {};
  private contentConflicts = 0;

  readonly published = (b: PublishedBatch): void => {
    add(this.eventsByTopic, b.topic, b.events);
    for (const s of b.skips) add(this.skips, s.reason);
    for (const d of b.deadLetters) add(this.deadLetters, d.reason);
  };

  readonly flushed = (_vouchers: number, o: FlushOutcome): void => {
    for (const [kind, n] of Object.entries(o.posted)) add(this.vouchersPosted, kind, n);
    for (const [kind, n] of Object.entries(o.replays)) add(this.voucherReplays, kind, n);
    if (o.postingFailed > 0) add(this.deadLetters, "POSTING_FAILED", o.postingFailed);
    this.contentConflicts += o.contentConflicts;
  };

  summary(seconds: number): ReplaySummary {
    const events = Object.values(this.eventsByTopic).reduce((a, b) => a + b, 0);
    return {
      seconds,
      events,
      eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : 0,
      eventsByTopic: { ...this.eventsByTopic },
      vouchersPosted: { ...this.vouchersPosted },
      voucherReplays: { ...this.voucherReplays },
      skips: { ...this.skips },
      deadLetters: { ...this.deadLetters },
      contentConflicts: this.contentConflicts,
    };
  }
}
