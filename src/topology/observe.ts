import type { Logger } from "../log.js";
import { LogRateLimit } from "../log-rate.js";
import type { Metrics } from "../metrics.js";
import type { PublishedBatch } from "./publish.js";

/** Counts and logs what a published batch did; skips and dead letters name their event id. */
export function observeBatch({ log, metrics }: { log: Logger; metrics: Metrics }) {
  const badInput = new LogRateLimit(log, "events dead-lettered", "warn");
  const defects = new LogRateLimit(log, "events dead-lettered as POSTING_FAILED", "error");
  return (batch: PublishedBatch): void => {
    metrics.eventsConsumed.inc({ topic: batch.topic }, batch.events);
    // once per kind and batch: a labelled inc() builds its label key each time
    const byKind = new Map<string, number>();
    for (const kind of batch.voucherKinds) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    for (const [kind, n] of byKind) metrics.vouchersEmitted.inc({ kind }, n);
    for (const s of batch.skips) {
      metrics.skips.inc({ reason: s.reason });
      // debug: a bulk replay would otherwise log a line for a quarter of all events (SPEC §4)
      log.debug({ eventId: s.eventId, reason: s.reason, subject: s.subject }, "nothing to book");
    }
    for (const letter of batch.deadLetters) {
      metrics.deadLetters.inc({ topic: letter.origin.topic, reason: letter.reason });
      // bad input is expected weather; a defect that kept failing (POSTING_FAILED) needs a person
      const defect = letter.reason === "POSTING_FAILED";
      if (!(defect ? defects : badInput).allow(letter.reason)) continue;
      log[defect ? "error" : "warn"](
        { ...letter.origin, reason: letter.reason, error: letter.message },
        "event dead-lettered",
      );
    }
  };
}
