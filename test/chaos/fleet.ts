import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Timeline } from "./report.js";

/** How long a (re)started instance may take to answer /readyz 200 before the run gives up on it. */
const READY_TIMEOUT_MS = 120_000;

export interface Readiness {
  slot: number;
  generation: number;
  why: string;
  /** From spawn to the first /readyz 200; null when it never got there. */
  ms: number | null;
}

export interface Exit {
  slot: number;
  generation: number;
  code: number | null;
  signal: string | null;
  expected: boolean;
  at: number;
}

interface Slot {
  slot: number;
  port: number;
  generation: number;
  child: ChildProcess | null;
  exited: Promise<Exit> | null;
  spawnedAt: number;
  ready: boolean;
  paused: boolean;
  /** An exit we caused (a signal we sent) is not the orchestrator's business. */
  expectExit: boolean;
  health: string;
}

export interface FleetOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
  ports: readonly number[];
  timeline: Timeline;
}

/**
 * Real `finance-posting run` processes, one per slot, each with its own metrics port and log
 * file per generation. Acts as the orchestrator too: an instance that exits on its own (it is
 * allowed to exit 1 when it cannot recover, SPEC §4) is recorded and started again.
 */
export class Fleet {
  readonly readiness: Readiness[] = [];
  readonly exits: Exit[] = [];
  private readonly slots: Slot[];
  private closing = false;
  private monitor: Promise<void> | null = null;

  constructor(private readonly o: FleetOptions) {
    this.slots = o.ports.map((port, slot) => ({
      slot,
      port,
      generation: 0,
      child: null,
      exited: null,
      spawnedAt: 0,
      ready: false,
      paused: false,
      expectExit: false,
      health: "",
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  name(slot: number): string {
    return `i${slot}`;
  }

  /** Slots whose process runs, is not paused and has been ready since its last start. */
  healthy(): number[] {
    return this.slots.filter((s) => s.child && !s.paused && s.ready).map((s) => s.slot);
  }

  logFiles(): string[] {
    return this.slots.flatMap((s) =>
      Array.from({ length: s.generation }, (_, g) =>
        join(this.o.logDir, `${this.name(s.slot)}.${g + 1}.log`),
      ),
    );
  }

  /** Starts the slot's next generation; resolves with the time until /readyz answered 200. */
  start(slot: number, why: string): Promise<Readiness> {
    const s = this.slot(slot);
    if (s.child) throw new Error(`${this.name(slot)} is already running`);
    s.generation += 1;
    s.ready = false;
    s.paused = false;
    s.expectExit = false;
    s.health = "";
    const logPath = join(this.o.logDir, `${this.name(slot)}.${s.generation}.log`);
    const fd = openSync(logPath, "a");
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run"], {
      cwd: this.o.root,
      env: {
        ...this.o.env,
        METRICS_PORT: String(s.port),
        KAFKA_CLIENT_ID: `finance-posting-chaos-${this.name(slot)}`,
      },
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    s.child = child;
    s.spawnedAt = Date.now();
    const generation = s.generation;
    s.exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => {
        const exit: Exit = { slot, generation, code, signal, expected: s.expectExit, at: Date.now() };
        this.exits.push(exit);
        if (s.child === child) {
          s.child = null;
          s.ready = false;
        }
        resolve(exit);
        if (!exit.expected && !this.closing) this.orchestrate(exit, logPath);
      });
    });
    this.o.timeline.note(`${this.name(slot)}: started (pid ${child.pid}, generation ${generation}, ${why})`);
    return this.awaitReady(s, child, generation, why);
  }

  /** SIGKILL or SIGTERM; resolves once the process has exited, with how long that took. */
  async signal(slot: number, signal: "SIGKILL" | "SIGTERM"): Promise<Exit & { ms: number }> {
    const s = this.slot(slot);
    const { child, exited } = s;
    if (!child || !exited) throw new Error(`${this.name(slot)} is not running`);
    s.expectExit = true;
    const sent = Date.now();
    child.kill(signal);
    if (s.paused) child.kill("SIGCONT");
    const exit = await exited;
    return { ...exit, ms: Date.now() - sent };
  }

  pause(slot: number): void {
    const s = this.slot(slot);
    s.paused = true;
    s.child?.kill("SIGSTOP");
  }

  resume(slot: number): void {
    const s = this.slot(slot);
    s.child?.kill("SIGCONT");
    s.paused = false;
  }

  /** Watches /healthz and /readyz of every running instance each second, noting every change. */
  watchHealth(): void {
    this.monitor ??= (async () => {
      while (!this.closing) {
        await Promise.all(
          this.slots.map(async (s) => {
            const child = s.child;
            if (!child || s.paused || !s.ready) return;
            const [live, ready] = await Promise.all([status(s.port, "healthz"), status(s.port, "readyz")]);
            // An answer that lost a race with a signal we sent says nothing about the instance.
            if (s.child !== child || s.paused || s.expectExit || this.closing) return;
            const now = `healthz ${live} readyz ${ready}`;
            if (now !== s.health) {
              if (s.health !== "" || now !== "healthz 200 readyz 200")
                this.o.timeline.note(
                  `${this.name(s.slot)}: ${now.replaceAll(" 0", " no answer")} (load average ${loadavg()[0]?.toFixed(1)})`,
                );
              s.health = now;
            }
          }),
        );
        await sleep(1_000);
      }
    })();
  }

  /** SIGTERM to every instance (SIGCONT first for a paused one), SIGKILL to those still running after the timeout. */
  async stopAll(timeoutMs: number): Promise<(Exit & { ms: number })[]> {
    this.closing = true;
    const running = this.slots.filter((s) => s.child);
    const stopped = await Promise.all(
      running.map(async (s) => {
        const timer = setTimeout(() => s.child?.kill("SIGKILL"), timeoutMs);
        try {
          return await this.signal(s.slot, "SIGTERM");
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    await this.monitor;
    return stopped;
  }

  /** Last resort (process exit, watchdog): SIGKILL whatever still runs, synchronously. */
  killAllNow(): void {
    this.closing = true;
    for (const s of this.slots) {
      if (!s.child) continue;
      s.expectExit = true;
      s.child.kill("SIGKILL");
    }
  }

  private slot(slot: number): Slot {
    const s = this.slots[slot];
    if (!s) throw new Error(`no slot ${slot}`);
    return s;
  }

  private async awaitReady(
    s: Slot,
    child: ChildProcess,
    generation: number,
    why: string,
  ): Promise<Readiness> {
    const deadline = s.spawnedAt + READY_TIMEOUT_MS;
    let ms: number | null = null;
    while (Date.now() < deadline && s.child === child && !this.closing) {
      if (!s.paused && (await status(s.port, "readyz")) === 200) {
        ms = Date.now() - s.spawnedAt;
        break;
      }
      await sleep(100);
    }
    if (s.child === child && ms !== null) s.ready = true;
    const r: Readiness = { slot: s.slot, generation, why, ms };
    this.readiness.push(r);
    this.o.timeline.note(
      ms === null
        ? `${this.name(s.slot)}: generation ${generation} never answered /readyz 200`
        : `${this.name(s.slot)}: ready in ${(ms / 1000).toFixed(2)} s`,
    );
    return r;
  }

  private orchestrate(exit: Exit, logPath: string): void {
    const tail = lastLines(logPath, 5);
    this.o.timeline.note(
      `${this.name(exit.slot)}: exited on its own (code ${exit.code}, signal ${exit.signal}); restarting it as an orchestrator would${tail ? `\n${tail}` : ""}`,
    );
    void sleep(1_000).then(() => {
      if (!this.closing && !this.slot(exit.slot).child)
        void this.start(exit.slot, `restart after exit code ${exit.code}`);
    });
  }
}

async function status(port: number, path: string): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/${path}`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** What an instance's log says about its consumers: evictions, failed batches, crashes. */
export function logDigest(path: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return counts;
  }
  const patterns: [string, RegExp][] = [
    ["evicted from a group", /"msg":"The coordinator is not aware of this member, re-joining/],
    ["batches failed", /"msg":"batch failed; it will be retried"/],
    ["consumer crashes", /"msg":"Crash: /],
    ["fatal", /"level":"fatal"/],
  ];
  for (const line of text.split("\n")) {
    for (const [name, re] of patterns) if (re.test(line)) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

export function lastLines(path: string, n: number): string {
  try {
    return readFileSync(path, "utf8")
      .trimEnd()
      .split("\n")
      .slice(-n)
      .map((l) => `    | ${l.slice(0, 400)}`)
      .join("\n");
  } catch {
    return "";
  }
}

/**
 * Ports free on every interface (the metrics server binds them all), below the ephemeral range
 * so no outgoing connection can take one while an instance is down between generations.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, () => server.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}
