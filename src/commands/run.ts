import { SinkService } from "../sinks/sink-service.js";
import { PostingService } from "../topology/posting-service.js";
import { migrateDatabase, onShutdownSignal, runtime, serveMetrics } from "./runtime.js";

export interface RunOptions {
  topology: boolean;
  sink: boolean;
  migrate: boolean;
}

/** `finance-posting run`: topology and sink (or one of them) until SIGTERM/SIGINT. */
export async function runCommand(opts: RunOptions): Promise<void> {
  const rt = runtime();
  const { config, log } = rt;
  let ready = false;
  const metricsServer = await serveMetrics(config, { live: () => true, ready: () => ready });
  const pool = opts.sink ? rt.pool() : null;
  if (pool && opts.migrate) await migrateDatabase(pool);

  const posting = opts.topology ? new PostingService({ ...rt }) : null;
  const sink = pool ? new SinkService({ ...rt, pool }) : null;
  onShutdownSignal(config.SHUTDOWN_TIMEOUT_MS, async () => {
    ready = false;
    await Promise.all([posting?.stop(), sink?.stop()]);
    await pool?.end();
    metricsServer?.close();
    log.info("stopped cleanly");
  });
  await Promise.all([posting?.start(), sink?.start()]);
  ready = true;
  log.info({ topology: opts.topology, sink: opts.sink }, "running");
}
