import { setTimeout as sleep } from "node:timers/promises";
import { TransientInfraError } from "./errors.js";

/**
 * The one retry policy of the project: exponential backoff from `initialMs`, doubling up to
 * `maxMs`, for as long as `retryIf` says the failure may pass, within `attempts` and/or
 * `deadlineMs`. Used by the schema registry client (transient failures) and the resolver
 * (references CDC has not delivered yet); Kafka and the sink retry whole batches through
 * kafkajs' own restart policy instead.
 */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /** At most this many attempts in all (default: unbounded). */
  attempts?: number;
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
  let delay = p.initialMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const remaining = p.deadlineMs === undefined ? delay : p.deadlineMs - (Date.now() - started);
      if (!p.retryIf(e) || remaining <= 0 || (p.attempts !== undefined && n >= p.attempts)) throw e;
      if (p.signal?.aborted) throw stopped(e);
      await p.onWait?.();
      await sleep(Math.min(delay, remaining), undefined, p.signal ? { signal: p.signal } : undefined).catch(
        (abort: unknown) => {
          throw stopped(abort);
        },
      );
      delay = Math.min(delay * 2, p.maxMs);
    }
  }
}

function stopped(cause: unknown): TransientInfraError {
  return new TransientInfraError("stopping: a retry was abandoned", { cause });
}
