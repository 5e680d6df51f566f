import type { Admin, Consumer } from "kafkajs";
import type { Logger } from "../log.js";
import { BACKOFF, retry } from "../retry.js";

/** Some of the topics a consumer needs do not exist yet. */
export class MissingTopicsError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(`topics not found: ${missing.join(", ")}`);
    this.name = "MissingTopicsError";
  }
}

/** The listed topics the cluster has now, in the order given. */
export async function presentTopics(admin: Admin, topics: readonly string[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  return topics.filter((t) => existing.has(t));
}

export interface AwaitTopicsOptions {
  log: Logger;
  /** Ends the wait (a shutdown): the call then throws a TransientInfraError. */
  signal: AbortSignal;
  /** Polls back off from a second to this (default 5 s). */
  maxPollMs?: number;
  /** How often the wait is logged again while it lasts (default 30 s). */
  reportEveryMs?: number;
}

/**
 * Resolves once every topic exists. On a new cluster the upstream services may not have
 * published yet, and kafkajs refuses to subscribe to a topic that does not exist; rather than
 * exit and be restarted in a loop, `run` waits, not ready, saying which topics it waits for.
 */
export async function untilTopicsExist(
  admin: Admin,
  topics: readonly string[],
  { log, signal, maxPollMs = 5_000, reportEveryMs = 30_000 }: AwaitTopicsOptions,
): Promise<void> {
  let reportedAt = Number.NEGATIVE_INFINITY;
  let missing: string[] = [];
  await retry(
    async () => {
      const present = new Set(await presentTopics(admin, topics));
      missing = topics.filter((t) => !present.has(t));
      if (missing.length > 0) throw new MissingTopicsError(missing);
    },
    {
      ...BACKOFF.topicPresence,
      maxMs: maxPollMs,
      retryIf: (e) => e instanceof MissingTopicsError,
      signal,
      onWait: async () => {
        if (Date.now() - reportedAt < reportEveryMs) return;
        reportedAt = Date.now();
        log.warn(
          { missing },
          "source topics not found: waiting for them to be created (not ready meanwhile)",
        );
      },
    },
  );
  if (reportedAt > Number.NEGATIVE_INFINITY) log.info({ topics }, "source topics found");
}

/** A topic created a moment ago may not be served yet: kafkajs gives up on it at once. */
const notServedYet = (e: unknown) => (e as { type?: string }).type === "UNKNOWN_TOPIC_OR_PARTITION";

/** Subscribes, trying again for a few seconds while a just-created topic is not served yet. */
export async function subscribeWhenServed(consumer: Consumer, topics: readonly string[]): Promise<void> {
  await retry(() => consumer.subscribe({ topics: [...topics], fromBeginning: true }), {
    ...BACKOFF.topicServed,
    retryIf: notServedYet,
  });
}

export interface TopicWatch {
  stop(): void;
}

/**
 * Polls for topics that did not exist when a consumer started, and hands each set that appears
 * to `onAppeared` once (again at the next poll if it throws). Stops by itself when all are there.
 */
export function watchForTopics(
  admin: () => Admin,
  missing: readonly string[],
  onAppeared: (topics: string[]) => Promise<void>,
  { log, everyMs = 10_000 }: { log: Logger; everyMs?: number },
): TopicWatch {
  const waiting = new Set(missing);
  let busy = false;
  const poll = async () => {
    const client = admin();
    await client.connect();
    try {
      const appeared = await presentTopics(client, [...waiting]);
      if (appeared.length === 0) return;
      await onAppeared(appeared);
      for (const t of appeared) waiting.delete(t);
      if (waiting.size === 0) clearInterval(timer);
    } finally {
      await client.disconnect();
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    poll()
      .catch((e: unknown) => log.warn({ err: e, missing: [...waiting] }, "watching for topics; trying again"))
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
