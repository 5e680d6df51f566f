import { type ChildProcess, fork } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../log.js";
import type { FlushOutcome } from "../sinks/sink-flush.js";

/** What the parent asks of a sink process. */
export type ToSink = { type: "reached"; id: number; endOffsets: [string, string][] } | { type: "stop" };

/** What a sink process reports. */
export type FromSink =
  | { type: "started" }
  | { type: "flushed"; vouchers: number; outcome: FlushOutcome }
  | { type: "reached"; id: number }
  | { type: "stopped" };

/** The entry point beside this module: .ts under tsx (tests), .js when built. */
const ENTRY = fileURLToPath(
  new URL(`./sink-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Node options a child must not inherit: the test runner's, a debugger port, profiler output. */
const NOT_INHERITED = /^--(test|inspect|cpu-prof|heap-prof|prof)/;

/**
 * The sink in a process of its own, so that the topology and the sink each have a core (a
 * replay is CPU-bound on both). The child is an ordinary SinkService with its own consumer
 * group, Postgres pool and offset commits, so the guarantees are the sink's own: offsets
 * committed only after the flush. If the child dies, the parent's work fails; nothing is lost,
 * because what it had not committed is read again.
 */
export class SinkChild {
  private child: ChildProcess | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();
  private stopping = false;
  /** Rejects if the child exits before it was asked to stop. */
  readonly failure: Promise<never>;
  private fail!: (e: Error) => void;

  constructor(
    private readonly options: {
      env: NodeJS.ProcessEnv;
      log: Logger;
      onFlush?: (vouchers: number, outcome: FlushOutcome) => void;
      /** Extra Node options for the child (a CPU profile of it, in the bench). */
      execArgv?: string[];
    },
  ) {
    this.failure = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.failure.catch(() => undefined); // observed by whoever awaits it
  }

  start(): Promise<void> {
    const child = fork(ENTRY, [], {
      env: this.options.env,
      execArgv: [...process.execArgv.filter((a) => !NOT_INHERITED.test(a)), ...(this.options.execArgv ?? [])],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    const started = new Promise<void>((resolve) => {
      child.on("message", (m: FromSink) => {
        if (m.type === "started") resolve();
        else if (m.type === "flushed") this.options.onFlush?.(m.vouchers, m.outcome);
        else if (m.type === "reached") this.waiting.get(m.id)?.();
      });
    });
    child.on("exit", (code, signal) => {
      this.child = null;
      if (this.stopping && code === 0) return;
      this.fail(new Error(`sink process exited (${signal ?? `code ${code}`}) before it was stopped`));
    });
    child.on("error", (e) => this.fail(e));
    return Promise.race([started, this.failure]);
  }

  /** Resolves once the child's sink has committed every listed partition up to its offset. */
  reached(endOffsets: Map<string, bigint>): Promise<void> {
    const id = this.nextId++;
    const reached = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    this.send({ type: "reached", id, endOffsets: [...endOffsets].map(([k, v]) => [k, v.toString()]) });
    return Promise.race([reached, this.failure]).finally(() => this.waiting.delete(id));
  }

  /** Asks the child to stop (drain, leave its group, close) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.stopping) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve, reject) =>
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`sink process stopped with exit code ${code}`)),
      ),
    );
    this.send({ type: "stop" });
    await exited;
  }

  private send(m: ToSink): void {
    if (!this.child?.connected) throw new Error("sink process is not running");
    this.child.send(m);
  }
}
