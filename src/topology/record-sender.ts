import type { Message, Producer, TopicMessages } from "kafkajs";
import type { Logger } from "../log.js";
import { recordBytes } from "./messages.js";

/** Below the broker's default message.max.bytes (1 MiB), which bounds one partition's record batch. */
const MAX_CHUNK_BYTES = 768 * 1024;

/** kafkajs' idempotent producer cannot recover its sequence numbers after these: start a new one. */
const PRODUCER_STATE_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "INVALID_PRODUCER_EPOCH",
  "UNKNOWN_PRODUCER_ID",
]);

/** Splits records into requests of bounded size, keeping their order within each topic. */
export function chunksOf(topicMessages: TopicMessages[], maxBytes = MAX_CHUNK_BYTES): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const cut = () => {
    if (current.size > 0) chunks.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const { topic, messages } of topicMessages) {
    for (const m of messages) {
      const size = recordBytes(m);
      if (bytes > 0 && bytes + size > maxBytes) cut();
      const list = current.get(topic) ?? [];
      list.push(m);
      current.set(topic, list);
      bytes += size;
    }
  }
  cut();
  return chunks;
}

/**
 * Produces with acks = all, one bounded request after another, so per-partition order holds.
 * After a producer-state error it swaps in a new producer: the failed batch is retried by the
 * caller from its uncommitted offset, and duplicates it may leave are idempotent replays.
 */
export class RecordSender {
  private producer: Producer | null = null;

  constructor(
    private readonly newProducer: () => Producer,
    private readonly log: Logger,
  ) {}

  async connect(): Promise<void> {
    const p = this.newProducer();
    await p.connect();
    this.producer = p;
  }

  async send(topicMessages: TopicMessages[]): Promise<void> {
    for (const chunk of chunksOf(topicMessages)) {
      const producer = this.producer;
      if (!producer) throw new Error("record sender is not connected");
      try {
        await producer.sendBatch({ topicMessages: chunk, acks: -1 });
      } catch (e) {
        if (PRODUCER_STATE_ERRORS.has((e as { type?: string }).type ?? "") && this.producer === producer) {
          this.log.warn({ err: e }, "producer state lost; starting a new producer");
          this.producer = null;
          void producer.disconnect().catch(() => undefined);
          await this.connect();
        }
        throw e;
      }
    }
  }

  async disconnect(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.disconnect();
  }
}
