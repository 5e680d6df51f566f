import type { Server } from "node:http";
import pg from "pg";
import { AvroCodec } from "../avro/codec.js";
import { configWarnings, loadConfig } from "../config.js";
import { classify } from "../failures.js";
import { limitHeapGrowth } from "../heap.js";
import { createKafka } from "../kafka/client.js";
import { createLogger, type Logger } from "../log.js";
import { createMetrics, type Health, type MetricsJson, startMetricsServer } from "../metrics.js";
import { BACKOFF, retry } from "../retry.js";
import { migrate } from "../sinks/migrate.js";

/**
 * What every long-running command needs, built once from the validated environment: the
 * composition root, where the process's logger and metrics are created and handed out.
 */
export function runtime(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(env);
  const log = createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  for (const warning of configWarnings(config)) log.warn(warning);
  limitHeapGrowth(config.HEAP_GROWTH_PERCENT);
  const auth =
    config.SCHEMA_REGISTRY_USERNAME && config.SCHEMA_REGISTRY_PASSWORD
      ? { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD }
      : undefined;
  return {
    config,
    log,
    metrics,
    kafka: createKafka(config, log),
    codec: new AvroCodec({ url: config.SCHEMA_REGISTRY_URL, ...(auth ? { auth } : {}) }),
    pool: () => {
      const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
      // An idle client losing its connection must not crash the process; the next query reconnects.
      pool.on("error", (e) => log.warn({ err: e }, "idle Postgres connection lost"));
      return pool;
    },
  };
}
export type Runtime = ReturnType<typeof runtime>;

/**
 * Migrates, waiting up to `waitMs` while Postgres is unreachable (a database restarting as the
 * instance starts) instead of exiting on the first refused connection.
 */
export async function migrateDatabase(pool: pg.Pool, waitMs: number, log: Logger): Promise<void> {
  const { applied } = await whileStarting(log, "Postgres", () => migrate(pool, log), waitMs);
  log.info({ applied }, applied.length ? "database migrated" : "database schema is current");
}

/**
 * Waits up to `waitMs` until the broker and the schema registry answer (a stack restarting as
 * the instance starts), so that a start in the middle of an outage is not an exit. A refusal of
 * who we are (credentials, certificates, authorization) ends the wait at once.
 */
export async function awaitServices(
  r: Pick<Runtime, "kafka" | "codec" | "log">,
  waitMs: number,
): Promise<void> {
  await Promise.all([
    whileStarting(
      r.log,
      "the Kafka cluster",
      async () => {
        const admin = r.kafka.admin();
        await admin.connect();
        try {
          await admin.listTopics();
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      waitMs,
    ),
    whileStarting(r.log, "the schema registry", () => r.codec.reachable(), waitMs),
  ]);
}

/** `attempt` again and again while what it needs is down (an outage), for at most `waitMs`. */
function whileStarting<T>(log: Logger, what: string, attempt: () => Promise<T>, waitMs: number): Promise<T> {
  let waiting = false;
  return retry(attempt, {
    ...BACKOFF.startup,
    deadlineMs: waitMs,
    retryIf: (e) => {
      if (classify(e) !== "outage") return false;
      if (!waiting)
        log.warn({ err: (e as Error).message, waitMs }, `${what} unreachable at start; waiting for it`);
      waiting = true;
      return true;
    },
  });
}

/** The metrics server on METRICS_HOST and METRICS_PORT (none when the port is 0). */
export async function serveMetrics(
  { config, log, metrics }: Pick<Runtime, "config" | "log" | "metrics">,
  health: Health,
  others?: () => Promise<MetricsJson[]>,
): Promise<Server | null> {
  if (config.METRICS_PORT === 0) return null;
  const server = await startMetricsServer(
    metrics.registry,
    config.METRICS_PORT,
    health,
    others,
    config.METRICS_HOST,
  );
  const address = server.address();
  const host = typeof address === "object" && address ? address.address : config.METRICS_HOST;
  log.info({ host, port: config.METRICS_PORT }, "metrics on /metrics, health on /healthz and /readyz");
  return server;
}

/**
 * Runs `stop` once: on the first SIGTERM/SIGINT, exiting 0 when it completes, or when the
 * returned function is called because the process cannot recover (a consumer that will not
 * restart), exiting 1 so an orchestrator restarts it. A second signal, or the timeout, exits
 * at once with 1.
 */
export function onShutdownSignal(
  log: Logger,
  timeoutMs: number,
  stop: () => Promise<void>,
): (fatal: string) => void {
  let stopping = false;
  const shutdown = (why: { signal: string } | { fatal: string }) => {
    if (stopping) {
      log.warn(why, "stopping already: exiting now");
      process.exit(1);
    }
    stopping = true;
    const code = "fatal" in why ? 1 : 0;
    if (code === 0) log.info(why, "stopping: no new fetches, finishing in-flight work");
    else log.fatal(why, "cannot recover: stopping, then exiting 1 to be restarted");
    setTimeout(() => {
      log.error({ timeoutMs }, "shutdown timed out");
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => process.exit(code),
      (e: unknown) => {
        log.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", (signal) => shutdown({ signal }));
  process.once("SIGINT", (signal) => shutdown({ signal }));
  return (fatal) => shutdown({ fatal });
}
