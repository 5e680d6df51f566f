import type { Consumer } from "kafkajs";
import type { Metrics } from "../metrics.js";

/** The key of a topic's partition in the maps of offsets: `topic:partition`. */
export const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * Where a consumer has got to, per partition, and promises that resolve once it has reached
 * given end offsets (exclusive). Fed by `followPositions`.
 */
export class Positions {
  private readonly at = new Map<string, bigint>();
  private waits: { endOffsets: Map<string, bigint>; resolve: () => void }[] = [];

  advance(topic: string, partition: number, next: bigint): void {
    const key = partitionKey(topic, partition);
    if ((this.at.get(key) ?? -1n) < next) this.at.set(key, next);
    this.settle();
  }

  reached(endOffsets: Map<string, bigint>): Promise<void> {
    return new Promise((resolve) => {
      this.waits.push({ endOffsets, resolve });
      this.settle();
    });
  }

  private settle(): void {
    this.waits = this.waits.filter((w) => {
      const done = [...w.endOffsets].every(([key, end]) => (this.at.get(key) ?? 0n) >= end);
      if (done) w.resolve();
      return !done;
    });
  }
}

/**
 * Follows a consumer's progress from its own batch events: keeps finance_consumer_lag current
 * and advances `positions`. kafkajs emits the event after a batch's handler has finished (not
 * when it throws), and also for batches it never hands over (only transaction markers, or
 * compacted away), so a position can reach the end offset even when no record sits just before it.
 */
export function followPositions(
  consumer: Consumer,
  group: string,
  metrics: Metrics,
  positions?: Positions,
): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    metrics.consumerLag.set(
      { group, topic: payload.topic, partition: String(payload.partition) },
      Number(payload.offsetLag),
    );
    positions?.advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
  });
}
