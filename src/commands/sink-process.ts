import { Liveness } from "../liveness.js";
import { SinkService } from "../sinks/sink-service.js";
import { runtime } from "./runtime.js";
import type { FromSink, ToSink } from "./sink-child.js";

/**
 * A sink process started by SinkChild: configured by the environment it was given, driven by
 * the parent's messages, reporting each flush, its liveness and, when asked, its metrics. It
 * stops when told, on SIGTERM/SIGINT, or when the parent is gone; it exits 1 when its consumer
 * dies for good, so the parent fails and is restarted.
 */
const resources = runtime();
const { log, metrics } = resources;
const pool = resources.pool();
const send = (m: FromSink) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send?.(m, undefined, {}, () => resolve());
  });
const liveness = new Liveness((why) => {
  log.fatal({ why }, "sink process cannot recover: stopping, then exiting 1");
  void stop(1);
});
const sink = new SinkService({
  ...resources,
  pool,
  liveness,
  onFlush: (vouchers, outcome) => void send({ type: "flushed", vouchers, outcome }),
});
const reportLiveness = setInterval(() => void send({ type: "live", live: liveness.live() }), 1_000);
reportLiveness.unref();

let stopping: Promise<void> | null = null;
function stop(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    clearInterval(reportLiveness);
    await sink.stop();
    await pool.end();
    await send({ type: "stopped" });
    process.exitCode = exitCode;
    if (process.connected) process.disconnect();
    // A handle a library left open must not keep a stopped sink alive.
    setTimeout(() => process.exit(exitCode), 2_000).unref();
  })().catch((e: unknown) => {
    log.fatal({ err: e }, "sink process: stop failed");
    process.exit(1);
  });
  return stopping;
}

process.on("message", (m: ToSink) => {
  if (m.type === "stop") void stop(0);
  else if (m.type === "reached") {
    const endOffsets = new Map(m.endOffsets.map(([k, v]) => [k, BigInt(v)] as const));
    void sink.reached(endOffsets).then(() => send({ type: "reached", id: m.id }));
  } else if (m.type === "metrics") {
    void metrics.registry
      .getMetricsAsJSON()
      .then((json) => send({ type: "metrics", id: m.id, metrics: json }));
  }
});
// The parent gone without asking: stop cleanly; what was not committed is read again.
process.on("disconnect", () => void stop(stopping ? 0 : 1));
process.once("SIGTERM", () => void stop(0));
process.once("SIGINT", () => void stop(0));

try {
  await sink.start();
  await send({ type: "started" });
} catch (e) {
  log.fatal({ err: e }, "sink process could not start");
  process.exit(1);
}
