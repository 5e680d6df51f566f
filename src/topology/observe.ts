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
      log.info({ eventId: s.eventId, reason: s.reason, subject: s.subject }, "nothing to book");
    }
    for (const d of b.deadLetters) {
      metrics.deadLetters.inc({ topic: d.origin.topic, reason: d.reason });
      log.warn({ ...d.origin, reason: d.reason, error: d.message }, "event dead-lettered");
    }
  };
}
