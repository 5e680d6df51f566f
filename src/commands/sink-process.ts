import { SinkService } from "../sinks/sink-service.js";
import { runtime } from "./runtime.js";
import type { FromSink, ToSink } from "./sink-child.js";

/**
 * A sink process started by SinkChild: configured by the environment it was given, driven by
 * the parent's messages, reporting each flush. It stops when told, or when the parent is gone.
 */
const resources = runtime();
const pool = resources.pool();
const send = (m: FromSink) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send?.(m, undefined, {}, () => resolve());
  });
const sink = new SinkService({
  ...resources,
  pool,
  onFlush: (vouchers, outcome) => void send({ type: "flushed", vouchers, outcome }),
});

let stopping: Promise<void> | null = null;
function stop(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    await sink.stop();
    await pool.end();
    await send({ type: "stopped" });
    process.exitCode = exitCode;
    process.disconnect?.();
    // A handle a library left open must not keep a stopped sink alive.
    setTimeout(() => process.exit(exitCode), 2_000).unref();
  })().catch((e: unknown) => {
    resources.log.fatal({ err: e }, "sink process: stop failed");
    process.exit(1);
  });
  return stopping;
}

process.on("message", (m: ToSink) => {
  if (m.type === "stop") void stop(0);
  else if (m.type === "reached") {
    const endOffsets = new Map(m.endOffsets.map(([k, v]) => [k, BigInt(v)] as const));
    void sink.reached(endOffsets).then(() => send({ type: "reached", id: m.id }));
  }
});
// The parent gone without asking: stop cleanly; what was not committed is read again.
process.on("disconnect", () => void stop(stopping ? 0 : 1));

try {
  await sink.start();
  await send({ type: "started" });
} catch (e) {
  resources.log.fatal({ err: e }, "sink process could not start");
  process.exit(1);
}
