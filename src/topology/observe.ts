import type { Logger } from "../log.js";
import { metrics } from "../metrics.js";
import type { PublishedBatch } from "./publish.js";

/** Counts and logs what a published batch did; skips and dead letters name their event id. */
export function observeBatch(log: Logger) {
  return (b: PublishedBatch): void => {
    metrics.eventsConsumed.inc({ topic: b.topic }, b.events);
    for (const v of b.vouchers) metrics.vouchersEmitted.inc({ kind: v.kind });
    for (const s of b.skips) {
      metrics.skips.inc({ reason: s.reason });
      // debug: a bulk replay would otherwise log a line for a quarter of all events (SPEC §4)
      log.debug({ eventId: s.eventId, reason: s.reason, subject: s.subject }, "nothing to book");
    }
    for (const d of b.deadLetters) {
      metrics.deadLetters.inc({ topic: d.origin.topic, reason: d.reason });
      // bad input is expected weather; a defect that kept failing (POSTING_FAILED) needs a person
      const level = d.reason === "POSTING_FAILED" ? "error" : "warn";
      log[level]({ ...d.origin, reason: d.reason, error: d.message }, "event dead-lettered");
    }
  };
}
