import { Liveness } from "../liveness.js";
import { primeCounters } from "../metrics.js";
import { SinkService } from "../sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, VOUCHER_TOPIC } from "../topics.js";
import { PostingService } from "../topology/posting-service.js";
import { migrateDatabase, onShutdownSignal, runtime, serveMetrics } from "./runtime.js";

export interface RunOptions {
  topology: boolean;
  sink: boolean;
  migrate: boolean;
}

/** `finance-posting run`: topology and sink (or one of them) until SIGTERM/SIGINT. */
export async function runCommand(opts: RunOptions): Promise<void> {
  const resources = runtime();
  const { config, log } = resources;
  primeCounters(ALL_SOURCE_TOPICS, VOUCHER_TOPIC);
  let ready = false;
  let fatal: (why: string) => void = () => {};
  const liveness = new Liveness((why) => fatal(why));
  const metricsServer = await serveMetrics(config, { live: () => liveness.live(), ready: () => ready });
  // The topology needs Postgres too, for dead letters too large for their topic.
  const pool = resources.pool();
  if (opts.migrate) await migrateDatabase(pool);

  const posting = opts.topology ? new PostingService({ ...resources, pool, liveness }) : null;
  const sink = opts.sink ? new SinkService({ ...resources, pool, liveness }) : null;
  fatal = onShutdownSignal(config.SHUTDOWN_TIMEOUT_MS, async () => {
    ready = false;
    await Promise.all([posting?.stop(), sink?.stop()]);
    await pool.end();
    metricsServer?.close();
    log.info("stopped cleanly");
  });
  await Promise.all([posting?.start(), sink?.start()]);
  ready = true;
  log.info({ topology: opts.topology, sink: opts.sink }, "running");
}
