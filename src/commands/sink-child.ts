import { type ChildProcess, fork } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../log.js";
import type { MetricsJson } from "../metrics.js";
import type { FlushOutcome } from "../sinks/sink-flush.js";

/** What the parent asks of a sink process. */
export type ToSink =
  | { type: "reached"; id: number; endOffsets: [string, string][] }
  | { type: "metrics"; id: number }
  | { type: "stop" };

/** What a sink process reports. */
export type FromSink =
  | { type: "started" }
  | { type: "flushed"; vouchers: number; outcome: FlushOutcome }
  | { type: "reached"; id: number }
  | { type: "metrics"; id: number; metrics: MetricsJson }
  | { type: "live"; live: boolean }
  | { type: "stopped" };

/** The entry point beside this module: .ts under tsx (tests), .js when built. */
const ENTRY = fileURLToPath(
  new URL(`./sink-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Node options a child must not inherit: the test runner's, a debugger port, profiler output. */
const NOT_INHERITED = /^--(test|inspect|cpu-prof|heap-prof|prof)/;

/** This process's Node options a child process of the project starts with (tsx's loader, say). */
export const inheritedExecArgv = () => process.execArgv.filter((a) => !NOT_INHERITED.test(a));

/** A sink process that reports nothing for this long is not counted as live (it reports every second). */
const SILENT_MS = 10_000;

/**
 * The sink in a process of its own, so that the topology and the sink each have a core (both
 * are CPU-bound under a backlog). The child is an ordinary SinkService with its own consumer
 * group, Postgres pool and offset commits, so the guarantees are the sink's own: offsets
 * committed only after the flush. If the child dies, `failure` rejects and the parent treats
 * it as fatal; nothing is lost, because what it had not committed is read again.
 */
export class SinkChild {
  private child: ChildProcess | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, (m: FromSink) => void>();
  private stopping = false;
  private lastLive = { live: true, at: Date.now() };
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
      execArgv: [...inheritedExecArgv(), ...(this.options.execArgv ?? [])],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    const started = new Promise<void>((resolve) => {
      child.on("message", (m: FromSink) => {
        if (m.type === "started") resolve();
        else if (m.type === "flushed") this.options.onFlush?.(m.vouchers, m.outcome);
        else if (m.type === "live") this.lastLive = { live: m.live, at: Date.now() };
        else if (m.type === "reached" || m.type === "metrics") this.waiting.get(m.id)?.(m);
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

  /** Resolves once the child's sink has committed every listed partition up to its end offset. */
  async reached(endOffsets: Map<string, bigint>): Promise<void> {
    await this.ask((id) => ({
      type: "reached",
      id,
      endOffsets: [...endOffsets].map(([k, v]) => [k, v.toString()]),
    }));
  }

  /** The child's metrics, to be served with the parent's on /metrics. */
  async metrics(): Promise<MetricsJson> {
    const answer = await this.ask((id) => ({ type: "metrics", id }));
    return answer.type === "metrics" ? answer.metrics : [];
  }

  /** Running, and its consumer alive as it last reported (for /healthz). */
  live(): boolean {
    return this.child !== null && this.lastLive.live && Date.now() - this.lastLive.at < SILENT_MS;
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
    // It may be stopping already: a Ctrl-C reaches the whole process group.
    if (child.connected) child.send({ type: "stop" } satisfies ToSink);
    await exited;
  }

  private async ask(question: (id: number) => ToSink): Promise<FromSink> {
    const id = this.nextId++;
    const answered = new Promise<FromSink>((resolve) => this.waiting.set(id, resolve));
    try {
      if (!this.child?.connected) throw new Error("sink process is not running");
      this.child.send(question(id));
      return await Promise.race([answered, this.failure]);
    } finally {
      this.waiting.delete(id);
    }
  }
}
