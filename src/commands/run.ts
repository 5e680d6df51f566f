import { Liveness } from "../liveness.js";
import { primeCounters } from "../metrics.js";
import { SinkService } from "../sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, VOUCHER_TOPIC } from "../topics.js";
import { PostingService } from "../topology/posting-service.js";
import { awaitServices, migrateDatabase, onShutdownSignal, runtime, serveMetrics } from "./runtime.js";
import { SinkChild } from "./sink-child.js";

export interface RunOptions {
  topology: boolean;
  sink: boolean;
  migrate: boolean;
}

/**
 * `finance-posting run`: topology and sink (or one of them) until SIGTERM/SIGINT. Both halves
 * run as two processes, the sink a child of this one: one /metrics and /healthz for both, and
 * either one's death is fatal to the pair.
 */
export async function runCommand(opts: RunOptions): Promise<void> {
  const resources = runtime();
  const { config, log } = resources;
  primeCounters(resources.metrics, ALL_SOURCE_TOPICS, VOUCHER_TOPIC);
  let ready = false;
  let fatal: (why: string) => void = () => {};
  const liveness = new Liveness((why) => fatal(why));
  // Both halves: the sink in a process of its own, so that under a backlog each has a core.
  const sinkProcess = opts.topology && opts.sink ? new SinkChild({ env: process.env, log }) : null;
  const metricsServer = await serveMetrics(
    resources,
    { live: () => liveness.live() && (sinkProcess?.live() ?? true), ready: () => ready },
    // Before it starts and once it has stopped, the sink process has no metrics to add.
    async () => (sinkProcess ? [await sinkProcess.metrics().catch(() => [])] : []),
  );
  // The topology needs Postgres too, for dead letters too large for their topic.
  const pool = resources.pool();
  if (opts.migrate) await migrateDatabase(pool, config.STARTUP_WAIT_MS, log);

  const posting = opts.topology ? new PostingService({ ...resources, pool, liveness }) : null;
  const sink = sinkProcess ?? (opts.sink ? new SinkService({ ...resources, pool, liveness }) : null);
  fatal = onShutdownSignal(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
    ready = false;
    await Promise.all([posting?.stop(), sink?.stop()]);
    await pool.end();
    metricsServer?.close();
    log.info("stopped cleanly");
  });
  sinkProcess?.failure.catch((e: Error) => fatal(e.message));
  try {
    await awaitServices(resources, config.STARTUP_WAIT_MS);
    await Promise.all([posting?.start(), sink?.start()]);
  } catch (e) {
    // Not a half-started process that answers /healthz and is never ready: stop, exit 1, be restarted.
    log.error({ err: e }, "could not start");
    fatal(`could not start: ${(e as Error).message}`);
    return;
  }
  ready = true;
  log.info({ topology: opts.topology, sink: opts.sink }, "running");
}
