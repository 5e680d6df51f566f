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
 * What /healthz answers (SPEC §4): every group member that was started is alive — not failed
 * for good, and not silent for longer than STALL_MS (a member whose consumers keep crashing is
 * silent too). A member that fails for good (the cluster refuses its credentials) also calls
 * `onDead`, so the process can exit non-zero and be looked at.
 */
export class Liveness {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly onDead: (why: string) => void = () => {},
    private readonly stallMs = STALL_MS,
    private readonly now = () => Date.now(),
  ) {}

  /** Follows a member's consumer (each new consumer of a member replaces the one before). */
  watch(consumer: Consumer, name: string): void {
    const w: Watched = { lastSign: this.now(), crashed: null };
    this.watched.set(name, w);
    const alive = () => {
      if (this.watched.get(name) === w) w.lastSign = this.now();
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
  }

  /** A member that cannot go on (see the class comment). */
  fail(name: string, e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    this.watched.set(name, { lastSign: this.now(), crashed: why });
    this.onDead(`consumer ${name} failed: ${why}`);
  }

  /** A member that stopped cleanly: not a death. */
  forget(name: string): void {
    this.watched.delete(name);
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
