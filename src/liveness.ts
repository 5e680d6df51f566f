import type { Consumer } from "kafkajs";

/**
 * No sign of life from a running consumer for this long means its loop is stuck: longer than
 * any healthy pause (kafkajs heartbeats between fetches every KAFKA_HEARTBEAT_INTERVAL_MS, a
 * batch waiting for references heartbeats while it waits, a rebalance takes at most kafkajs'
 * 60 s rebalance timeout).
 */
export const STALL_MS = 120_000;

interface Watched {
  lastSign: number;
  crashed: string | null;
}

/**
 * What /healthz answers (SPEC §4): every consumer that was started is still alive — not
 * crashed for good, and not silent for longer than STALL_MS. A consumer that kafkajs will not
 * restart also calls `onDead`, so the process can exit non-zero and be restarted.
 */
export class Liveness {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly onDead: (why: string) => void = () => {},
    private readonly stallMs = STALL_MS,
    private readonly now = () => Date.now(),
  ) {}

  watch(consumer: Consumer, name: string): void {
    const w: Watched = { lastSign: this.now(), crashed: null };
    this.watched.set(name, w);
    const alive = () => {
      w.lastSign = this.now();
    };
    const e = consumer.events;
    for (const sign of [
      e.HEARTBEAT,
      e.FETCH_START,
      e.START_BATCH_PROCESS,
      e.END_BATCH_PROCESS,
      e.GROUP_JOIN,
    ]) {
      consumer.on(sign, alive);
    }
    consumer.on(e.CRASH, ({ payload }) => {
      if (payload.restart) return alive();
      w.crashed = payload.error?.message ?? "crashed";
      this.onDead(`consumer ${name} crashed and will not restart: ${w.crashed}`);
    });
    // A clean stop is not a death.
    consumer.on(e.STOP, () => this.watched.delete(name));
  }

  /** A consumer that could not even start running. */
  fail(name: string, e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.watched.set(name, { lastSign: this.now(), crashed: why });
    this.onDead(`consumer ${name} failed: ${why}`);
  }

  /** Why the process is not live; empty when it is. */
  problems(): string[] {
    const now = this.now();
    return [...this.watched].flatMap(([name, w]) => {
      if (w.crashed !== null) return [`${name} crashed: ${w.crashed}`];
      const silent = now - w.lastSign;
      return silent > this.stallMs ? [`${name} silent for ${Math.round(silent / 1000)} s`] : [];
    });
  }

  live(): boolean {
    return this.problems().length === 0;
  }
}
