import { createServer, type Server } from "node:http";
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import { SKIP_REASONS } from "./domain/voucher.js";
import { DEAD_LETTER_REASONS } from "./errors.js";

/**
 * Every metric SPEC §7 asks for, in a registry of their own (with the process's default
 * metrics): the composition root (runtime()) creates one per process and hands it out.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "finance_process_" });
  return {
    /** The registry every metric below is registered in, for /metrics. */
    registry,
    eventsConsumed: new Counter({
      name: "finance_events_consumed_total",
      help: "Source events consumed, per topic",
      labelNames: ["topic"] as const,
      registers: [registry],
    }),
    vouchersEmitted: new Counter({
      name: "finance_vouchers_emitted_total",
      help: "Vouchers produced to finance.voucher by the topology, per kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    vouchersPosted: new Counter({
      name: "finance_vouchers_posted_total",
      help: "Vouchers newly booked in Postgres, per kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    voucherReplays: new Counter({
      name: "finance_voucher_replays_total",
      help: "Vouchers already booked (idempotent replays), per kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    skips: new Counter({
      name: "finance_skips_total",
      help: "Events or attempts with nothing to book, per reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "finance_dead_letters_total",
      help: "Events sent to the dead-letter topic, per source topic and reason",
      labelNames: ["topic", "reason"] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: "finance_errors_total",
      help: "Errors, per stage and type (transient errors are retried)",
      labelNames: ["stage", "type"] as const,
      registers: [registry],
    }),
    contentConflicts: new Counter({
      name: "finance_content_conflicts_total",
      help: "Vouchers whose key was booked with different content (the first posting stands)",
      registers: [registry],
    }),
    cdcRowsRefused: new Counter({
      name: "finance_cdc_rows_refused_total",
      help: "CDC rows refused instead of becoming a version (SPEC §5: an owner change, an account type or status outside the contract), per table and reason",
      labelNames: ["table", "reason"] as const,
      registers: [registry],
    }),
    referenceVersions: new Gauge({
      name: "finance_reference_versions",
      help: "Versions held by the materialized tables, per table (memory grows with changes to reference data)",
      labelNames: ["table"] as const,
      registers: [registry],
    }),
    memberRestarts: new Counter({
      name: "finance_consumer_restarts_total",
      help: "Consumers replaced after a crash, per group member and failure class (outage, revoked, defect, access)",
      labelNames: ["member", "class"] as const,
      registers: [registry],
    }),
    rebalanceSeconds: new Histogram({
      name: "finance_rebalance_seconds",
      help: "From the moment a member learnt its generation was over (it let go of its batches) until it joined the group again, per group member",
      labelNames: ["member"] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: "finance_consumer_lag",
      help: "Messages behind the high watermark, per consumer group, topic and partition",
      labelNames: ["group", "topic", "partition"] as const,
      registers: [registry],
    }),
    sinkBatchSize: new Histogram({
      name: "finance_sink_batch_size",
      help: "Vouchers per sink flush",
      buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000],
      registers: [registry],
    }),
    voucherWrites: new Counter({
      name: "finance_sink_voucher_writes_total",
      help: "Voucher batches written, by how they went in: copy (new vouchers straight into the tables, replays found by a probe) or staging (a copy differed from its stored version, or Postgres refused the copy)",
      labelNames: ["via"] as const,
      registers: [registry],
    }),
    sinkFlushSeconds: new Histogram({
      name: "finance_sink_flush_seconds",
      help: "Duration of one sink flush (one Postgres transaction)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventToPostingSeconds: new Histogram({
      name: "finance_event_to_posting_seconds",
      help: "From an event's occurredAt to its voucher committed in Postgres",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}

/** The metrics a component counts into. */
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Creates the dead-letter and skip series at 0 for every known label value, so the first dead
 * letter of a kind shows as an increase on the dashboard: Prometheus' increase() cannot see a
 * series that first appears already at 1. For `run`; a replay's summary lists only what happened.
 */
export function primeCounters(metrics: Metrics, sourceTopics: readonly string[], voucherTopic: string): void {
  for (const topic of sourceTopics) {
    for (const reason of DEAD_LETTER_REASONS) metrics.deadLetters.inc({ topic, reason }, 0);
  }
  metrics.deadLetters.inc({ topic: voucherTopic, reason: "POSTING_FAILED" }, 0);
  for (const reason of SKIP_REASONS) metrics.skips.inc({ reason }, 0);
  metrics.contentConflicts.inc(0);
  for (const [table, reasons] of Object.entries(REFUSALS_BY_TABLE)) {
    for (const reason of reasons) metrics.cdcRowsRefused.inc({ table, reason }, 0);
  }
}

/** Which refusals each CDC table can give: owners never change; only accounts have type and status. */
const REFUSALS_BY_TABLE: Record<string, readonly string[]> = {
  finance_account: ["OWNER_CHANGED", "INVALID_TYPE", "INVALID_STATUS"],
  vendor: ["OWNER_CHANGED"],
  purchase_order: ["OWNER_CHANGED"],
};

export interface Health {
  live(): boolean;
  ready(): boolean;
}

/** A registry's metrics as data, to be served with another process's. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * This process's metrics, with those of the processes working for it (the sink process):
 * counters and histograms summed, so the dashboard sees one instance.
 */
async function allMetrics(registry: Registry, others: () => Promise<MetricsJson[]>): Promise<string> {
  const theirs = await others();
  if (theirs.length === 0) return registry.metrics();
  return AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), ...theirs]).metrics();
}

/** The only methods the endpoints answer; anything else gets 405 with `Allow`. */
const ALLOWED_METHODS = "GET, HEAD";

/**
 * /metrics (`registry`'s, with `others`), /healthz (process alive and loops running) and
 * /readyz (tables loaded, consumers joined), for GET and HEAD only, on `host` (every interface
 * when undefined).
 */
export function startMetricsServer(
  registry: Registry,
  port: number,
  health: Health,
  others: () => Promise<MetricsJson[]> = async () => [],
  host?: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" && path !== "/healthz" && path !== "/readyz") {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res
        .writeHead(405, { Allow: ALLOWED_METHODS, "Content-Type": "text/plain" })
        .end("method not allowed\n");
      return;
    }
    // (Node leaves the body out of a response to HEAD.)
    if (path === "/metrics") {
      allMetrics(registry, others).then(
        (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else {
      const ok = path === "/healthz" ? health.live() : health.ready();
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
    }
  });
  // Scrapes and probes are small and quick: a client that dawdles is not kept waiting on.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host }, () => resolve(server));
  });
}
