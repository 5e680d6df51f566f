import { Kafka, logLevel, type Message, Partitioners, type Producer } from "kafkajs";
import { money } from "../../src/money.js";
import { SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import type { TestKafka } from "../support/pipeline.js";
import type { Timeline } from "./report.js";

/**
 * The chaos run's traffic: events whose vouchers are trivially known, published at a steady
 * pace with each event's publish time recorded.
 * - inventory.issued-for-sale with costBasis > 0 → one SALE_COGS voucher
 *   `SALE_COGS:<m>:SALE_ORDER:<saleOrderId>:<attemptUid>`;
 * - inventory.adjusted with valueDelta ≠ 0 → one INVENTORY_ADJUSTMENT voucher
 *   `INVENTORY_ADJUSTMENT:<m>:INVENTORY_TRACKING:<id>`;
 * - now and then a costBasis of 0 (a skip: no voucher), a byte-identical redelivery, or a
 *   re-publication of the same fact with a new eventId (both the same voucher, once).
 */

export interface Expected {
  key: string;
  merchantId: string;
  kind: "SALE_COGS" | "INVENTORY_ADJUSTMENT";
  /** numeric(19,4) as Postgres prints it. */
  amount: string;
  topic: string;
  partition: number;
  /** When the broker first acknowledged the event (any copy). */
  publishedAt: number | null;
}

interface Outgoing {
  topic: string;
  payload: Record<string, unknown>;
  message: Message;
  expected: Expected | null;
}

export interface LoadStats {
  events: number;
  skips: number;
  redeliveries: number;
  republications: number;
  sends: number;
  failedSends: number;
}

const T = SOURCE_TOPICS;
const MAX_PER_SEND = 2_000;
/** A publisher that cannot get its events to the broker for this long fails the run. */
const GIVE_UP_MS = 180_000;

export class Load {
  /** Every voucher the run expects, by idempotency key. */
  readonly expected = new Map<string, Expected>();
  readonly stats: LoadStats = {
    events: 0,
    skips: 0,
    redeliveries: 0,
    republications: 0,
    sends: 0,
    failedSends: 0,
  };
  private readonly producer: Producer;
  private n = 0;
  private copies: { due: number; out: Outgoing }[] = [];
  private running: Promise<void> | null = null;
  private stopping = false;
  lastPublishedAt = 0;

  constructor(
    private readonly k: TestKafka,
    brokers: string[],
    private readonly run: string,
    private readonly merchants: readonly string[],
    private readonly partitions: ReadonlyMap<string, number>,
    private readonly timeline: Timeline,
  ) {
    // A client of its own that stays quiet while the broker is away: failures are counted here.
    const kafka = new Kafka({
      clientId: `chaos-load-${run}`,
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** One event on every partition of both topics, so a warm-up proves every partition flows. */
  async warmUp(): Promise<Expected[]> {
    const out: Outgoing[] = [];
    for (const topic of [T.inventoryIssuedForSale, T.inventoryAdjusted]) {
      for (let p = 0; p < (this.partitions.get(topic) ?? 1); p++) out.push(this.event(this.n++, topic, p));
    }
    await this.send(out);
    return out.flatMap((o) => (o.expected ? [o.expected] : []));
  }

  /** Publishes `perSecond` events a second, paced by the clock, until stop(). */
  start(perSecond: number): void {
    this.running ??= (async () => {
      const started = Date.now();
      let generated = 0;
      while (!this.stopping) {
        const due = Math.floor(((Date.now() - started) / 1000) * perSecond) - generated;
        const batch: Outgoing[] = [];
        for (let i = 0; i < Math.min(due, MAX_PER_SEND); i++) batch.push(this.next());
        generated += batch.length;
        const now = Date.now();
        batch.push(...this.copies.filter((c) => c.due <= now).map((c) => c.out));
        this.copies = this.copies.filter((c) => c.due > now);
        if (batch.length > 0) await this.send(batch);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Copies still waiting are sent now, so every planned delivery happens before the drain.
      if (this.copies.length > 0) await this.send(this.copies.map((c) => c.out));
      this.copies = [];
    })();
  }

  /** Stops publishing; resolves once every event is acknowledged, with the last acknowledgement's time. */
  async stop(): Promise<number> {
    this.stopping = true;
    await this.running;
    await this.producer.disconnect().catch(() => undefined);
    return this.lastPublishedAt;
  }

  private next(): Outgoing {
    const n = this.n++;
    // Topic, partition and merchant drawn independently, so every lane (source partition ×
    // voucher partition) carries traffic; one COGS event in 25 has a zero cost basis.
    const topic = Math.random() < 0.6 ? T.inventoryIssuedForSale : T.inventoryAdjusted;
    const partition = Math.floor(Math.random() * (this.partitions.get(topic) ?? 1));
    const out = this.event(n, topic, partition, topic === T.inventoryIssuedForSale && n % 25 === 24);
    const now = Date.now();
    if (n % 20 === 7) {
      this.stats.redeliveries += 1;
      this.copies.push({ due: now + Math.random() * 5_000, out });
    }
    if (n % 33 === 11) {
      this.stats.republications += 1;
      const payload = { ...out.payload, eventId: `evt-${this.run}-${n}-again`, occurredAt: now };
      const again = { ...out, payload, message: { ...out.message, value: this.encode(out.topic, payload) } };
      this.copies.push({ due: now + Math.random() * 5_000, out: again });
    }
    return out;
  }

  private encode(topic: string, payload: Record<string, unknown>): Buffer {
    return this.k.codec.encode(this.k.schemaIds.get(valueSubject(topic)) ?? 0, payload);
  }

  /** Event number `n` on the topic's partition; `zero` makes a COGS event with costBasis 0 (a skip). */
  private event(n: number, topic: string, partition: number, zero = false): Outgoing {
    this.stats.events += 1;
    const merchantId = this.merchants[Math.floor(Math.random() * this.merchants.length)] ?? "";
    const envelope = { eventId: `evt-${this.run}-${n}`, occurredAt: Date.now(), merchantId, currency: "VND" };
    const amount = randomAmount();
    let key: string;
    let payload: Record<string, unknown>;
    let expected: Expected | null;
    if (topic === T.inventoryIssuedForSale) {
      key = `so-${this.run}-${n}`;
      const attemptUid = `att-${n % 4}`;
      payload = {
        ...envelope,
        saleOrderId: key,
        saleOrderCode: `SO-${n}`,
        attemptUid,
        costBasis: money(zero ? "0" : amount),
      };
      if (zero) this.stats.skips += 1;
      expected = zero
        ? null
        : {
            key: `SALE_COGS:${merchantId}:SALE_ORDER:${key}:${attemptUid}`,
            merchantId,
            kind: "SALE_COGS",
            amount,
            topic,
            partition,
            publishedAt: null,
          };
    } else {
      key = `it-${this.run}-${n}`;
      payload = {
        ...envelope,
        inventoryTrackingId: key,
        productVariantId: `pv-${n % 17}`,
        valueDelta: money(n % 3 === 0 ? `-${amount}` : amount),
        reason: n % 2 === 0 ? null : "chaos: stock count",
      };
      expected = {
        key: `INVENTORY_ADJUSTMENT:${merchantId}:INVENTORY_TRACKING:${key}`,
        merchantId,
        kind: "INVENTORY_ADJUSTMENT",
        amount,
        topic,
        partition,
        publishedAt: null,
      };
    }
    if (expected) this.expected.set(expected.key, expected);
    return { topic, payload, message: { key, value: this.encode(topic, payload), partition }, expected };
  }

  /** Sends until the broker acknowledges (acks = all); a broker away is waited out, not skipped. */
  private async send(batch: Outgoing[]): Promise<void> {
    for (let i = 0; i < batch.length; i += MAX_PER_SEND) {
      const part = batch.slice(i, i + MAX_PER_SEND);
      const byTopic = new Map<string, Message[]>();
      for (const o of part) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.message]);
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      const firstTry = Date.now();
      for (let attempt = 0; ; attempt++) {
        try {
          this.stats.sends += 1;
          await this.producer.sendBatch({ topicMessages, acks: -1 });
          break;
        } catch (e) {
          this.stats.failedSends += 1;
          if (attempt === 0) this.timeline.note(`publisher: send failed (${(e as Error).message}); retrying`);
          if (Date.now() - firstTry > GIVE_UP_MS)
            throw new Error(
              `publisher could not publish for ${GIVE_UP_MS / 1000} s: ${(e as Error).message}`,
            );
          await new Promise((resolve) => setTimeout(resolve, 500));
          if (attempt > 0 && attempt % 20 === 0)
            this.timeline.note(`publisher: still failing after ${attempt} tries`);
        }
      }
      const acked = Date.now();
      this.lastPublishedAt = acked;
      for (const o of part) if (o.expected && o.expected.publishedAt === null) o.expected.publishedAt = acked;
    }
  }
}

/** A positive amount with exactly 4 decimal places, printed as Postgres prints numeric(19,4). */
function randomAmount(): string {
  const units = 1 + Math.floor(Math.random() * 9_999_999);
  const fraction = String(Math.floor(Math.random() * 10_000)).padStart(4, "0");
  return `${units}.${fraction}`;
}
