import { setTimeout as sleep } from "node:timers/promises";
import { AbandonedError } from "./errors.js";

/** How a wait backs off: from `initialMs`, doubling up to `maxMs`, within `attempts` if set. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** At most this many attempts in all (default: unbounded). */
  attempts?: number;
}

/**
 * Every backoff of the project, by what is waited for, in one place. Whether a failure is worth
 * waiting out is `failures.ts`' classification; how long and how often is here.
 */
export const BACKOFF = {
  /** A batch whose work met an outage: tried again while the member keeps its partitions. */
  batchOutage: { initialMs: 500, maxMs: 5_000 },
  /**
   * A group member whose consumer crashed: a new consumer joins after this pause. Short: each
   * try already waits out kafkajs' own connection retries, and partitions wait for the member.
   */
  memberRestart: { initialMs: 500, maxMs: 5_000 },
  /** Postgres, the broker and the registry while the process starts (bounded by STARTUP_WAIT_MS). */
  startup: { initialMs: 250, maxMs: 5_000 },
  /** Postgres while kept reference versions are loaded or saved. */
  referenceStore: { initialMs: 200, maxMs: 5_000 },
  /** References CDC has not delivered yet (bounded by RESOLVE_TIMEOUT_MS). */
  references: { initialMs: 25, maxMs: 1_000 },
  /** One schema registry request; the caller's own retry covers longer outages. */
  registryRequest: { initialMs: 400, maxMs: 6_400 },
  /** Source topics not created yet. */
  topicPresence: { initialMs: 1_000, maxMs: 5_000 },
  /** A topic created a moment ago and not served yet. */
  topicServed: { initialMs: 250, maxMs: 2_000, attempts: 8 },
  /** Offsets committed for a group on a broker started moments ago. */
  groupOffsets: { initialMs: 500, maxMs: 2_000, attempts: 6 },
} as const satisfies Record<string, Backoff>;

/**
 * The one retry loop of the project: exponential backoff (see `Backoff`) for as long as
 * `retryIf` says the failure may pass, within `attempts` and/or `deadlineMs`.
 */
export interface RetryPolicy extends Backoff {
  /** Give up once this long has passed since the first attempt (default: unbounded). */
  deadlineMs?: number;
  retryIf: (e: unknown) => boolean;
  /** Called before each wait, e.g. to heartbeat a consumer group. */
  onWait?: () => Promise<void>;
  /** Aborts the waiting: the call then fails as transient (the work was not given its time). */
  signal?: AbortSignal;
}

export async function retry<T>(attempt: () => T | Promise<T>, p: RetryPolicy): Promise<T> {
  const started = Date.now();
  const delays = new Delays(p);
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const delay = delays.take();
      const remaining = p.deadlineMs === undefined ? delay : p.deadlineMs - (Date.now() - started);
      if (!p.retryIf(e) || remaining <= 0 || (p.attempts !== undefined && n >= p.attempts)) throw e;
      if (p.signal?.aborted) throw stopped(e);
      await p.onWait?.();
      await sleep(Math.min(delay, remaining), undefined, p.signal ? { signal: p.signal } : undefined).catch(
        (abort: unknown) => {
          throw stopped(abort);
        },
      );
    }
  }
}

function stopped(cause: unknown): AbandonedError {
  return new AbandonedError("stopping: a retry was abandoned", { cause });
}

/** The delays of a backoff one after another, from the start again after `reset()`. */
export class Delays {
  private next: number;
  constructor(private readonly backoff: Backoff) {
    this.next = backoff.initialMs;
  }

  take(): number {
    const delay = this.next;
    this.next = Math.min(this.next * 2, this.backoff.maxMs);
    return delay;
  }

  reset(): void {
    this.next = this.backoff.initialMs;
  }
}
