import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU seconds used by the processes a bench run exercises, read from Linux's /proc: on a
 * shared, noisy machine the CPU a change costs per event survives where its wall-clock rate
 * does not. Each figure counts a process's own time plus that of its children already reaped
 * (Postgres backends that ended, the pipeline's worker processes), so a window's difference
 * is all the work done in it.
 */
export interface CpuSeconds {
  /** Both of the pipeline's processes: the topology and the sink. */
  pipeline: number;
  /** The bench process's own time, which is the topology's. */
  topology: number;
  broker: number;
  postgres: number;
}

/** Kernel clock ticks per second: 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcessStat {
  pid: number;
  parent: number;
  comm: string;
  ownTicks: number;
  reapedChildrenTicks: number;
}

function readStat(pid: number): ProcessStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is parenthesised and may hold spaces: the fields after it start past the last ')'.
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // fields[0] is stat's 3rd field (state); utime, stime, cutime, cstime are the 14th–17th.
    return {
      pid,
      parent: Number(fields[1]),
      comm: text.slice(text.indexOf("(") + 1, close),
      ownTicks: Number(fields[11]) + Number(fields[12]),
      reapedChildrenTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return null; // ended between listing and reading
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function allProcesses(): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** A process's time, its reaped children's, and its live descendants' (the same way down). */
function treeTicks(root: ProcessStat, all: ProcessStat[]): number {
  const children = all.filter((p) => p.parent === root.pid);
  return root.ownTicks + root.reapedChildrenTicks + children.reduce((n, c) => n + treeTicks(c, all), 0);
}

/** Null where /proc cannot be read (not Linux): the bench then prints no CPU figures. */
export function sampleCpu(): CpuSeconds | null {
  let all: ProcessStat[];
  try {
    all = allProcesses();
  } catch {
    return null;
  }
  const self = all.find((p) => p.pid === process.pid);
  if (!self) return null;
  // The roots only: a postmaster's backends and a broker's threads count through their root.
  const brokers = all.filter((p) => p.comm === "java" && / kafka\.Kafka /.test(`${commandLine(p.pid)} `));
  const postgresRoots = all.filter(
    (p) => p.comm === "postgres" && !all.some((q) => q.pid === p.parent && q.comm === "postgres"),
  );
  const sum = (roots: ProcessStat[]) => roots.reduce((n, r) => n + treeTicks(r, all), 0) / TICKS_PER_SECOND;
  return {
    pipeline: sum([self]),
    topology: self.ownTicks / TICKS_PER_SECOND,
    broker: sum(brokers),
    postgres: sum(postgresRoots),
  };
}

export function cpuBetween(before: CpuSeconds | null, after: CpuSeconds | null): CpuSeconds | null {
  if (!before || !after) return null;
  return {
    pipeline: after.pipeline - before.pipeline,
    topology: after.topology - before.topology,
    broker: after.broker - before.broker,
    postgres: after.postgres - before.postgres,
  };
}

/** This process and its live descendants (the sink's process, say), or null where /proc cannot be listed. */
function selfAndDescendants(): number[] | null {
  let all: ProcessStat[];
  try {
    all = allProcesses();
  } catch {
    return null;
  }
  const pids: number[] = [];
  const visit = (pid: number) => {
    pids.push(pid);
    for (const c of all) if (c.parent === pid) visit(c.pid);
  };
  visit(process.pid);
  return pids;
}

function residentOf(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE_BYTES;
  } catch {
    return null; // ended meanwhile
  }
}

/**
 * Resident memory of this process and of each live descendant, in bytes, by pid. The bench
 * samples it every 100 ms from inside the measured process, so it lists the whole process
 * table only every `relistMs` (a listing reads every process's stat, which cost 2–3% of the
 * topology's CPU when done at each sample) and in between reads just the known pids' statm.
 */
export class ResidentMemory {
  private pids: number[] = [];
  private listedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly relistMs = 2_000) {}

  sample(now = Date.now()): Map<number, number> {
    if (now - this.listedAt >= this.relistMs) {
      this.pids = selfAndDescendants() ?? [];
      this.listedAt = now;
    }
    if (this.pids.length === 0) return new Map([[process.pid, process.memoryUsage().rss]]);
    const out = new Map<number, number>();
    for (const pid of this.pids) {
      const bytes = residentOf(pid);
      if (bytes !== null) out.set(pid, bytes);
    }
    return out;
  }
}

/** Linux' page size on the platforms Node runs on (x86-64, arm64 with 4 KiB pages). */
const PAGE_BYTES = 4096;

/** One reading of `sampleCpu`, and when it was taken (ms since the epoch). */
export interface CpuReading {
  at: number;
  cpu: CpuSeconds;
}

/** Cores a group of processes used on average in each slice (CPU seconds per second). */
export interface CoresInSlice {
  /** The bench's children: `run` and its sink process (`pipeline` less the bench's own time). */
  financePosting: number;
  broker: number;
  postgres: number;
}

/**
 * Cores used in each of `slices` equal slices of [from, to], from readings taken every so
 * often: each slice reads between the readings nearest its bounds, so a broker that is still
 * compiling its hot paths at the start (a JVM started a moment ago) shows as such. Null for a
 * slice with no two distinct readings near it.
 */
export function coresBySlice(
  readings: readonly CpuReading[],
  from: number,
  to: number,
  slices: number,
): (CoresInSlice | null)[] {
  const nearest = (t: number) =>
    readings.reduce<CpuReading | null>(
      (best, r) => (best === null || Math.abs(r.at - t) < Math.abs(best.at - t) ? r : best),
      null,
    );
  const width = (to - from) / slices;
  return Array.from({ length: slices }, (_, i) => {
    const start = nearest(from + i * width);
    const end = nearest(from + (i + 1) * width);
    if (!start || !end || end.at <= start.at) return null;
    const d = cpuBetween(start.cpu, end.cpu) as CpuSeconds;
    const seconds = (end.at - start.at) / 1000;
    return {
      financePosting: (d.pipeline - d.topology) / seconds,
      broker: d.broker / seconds,
      postgres: d.postgres / seconds,
    };
  });
}
