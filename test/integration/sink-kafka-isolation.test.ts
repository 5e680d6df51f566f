import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message } from "kafkajs";
import { groups } from "../../src/config.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { pendingRanges, rangeEnds } from "../../src/kafka/offsets.js";
import { migrate } from "../../src/sinks/migrate.js";
import { SINK_TOPICS, SinkService } from "../../src/sinks/sink-service.js";
import { DLQ_TOPIC, VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { connectKafka, type TestKafka, testConfig } from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { refusedVouchers, sampleVoucher } from "../support/vouchers.js";

interface Placed {
  message: Message;
  partition: number;
  offset: string;
}

describe("sink on Kafka: one refused voucher is dead-lettered, the rest booked, offsets committed past it", () => {
  const run = randomBytes(4).toString("hex");
  const config = testConfig();
  let db: ThrowawayDb;
  let k: TestKafka;
  const placed = new Map<string, Placed>();

  /** Produces one record at a time, to know each one's partition and offset. */
  async function produceEach(topic: string, named: Record<string, Message>): Promise<void> {
    const producer = k.kafka.producer();
    await producer.connect();
    for (const [name, message] of Object.entries(named)) {
      const [meta] = await producer.send({ topic, messages: [message], acks: -1 });
      assert.ok(meta);
      placed.set(name, { message, partition: meta.partition, offset: String(meta.baseOffset) });
    }
    await producer.disconnect();
  }

  before(async () => {
    db = await createThrowawayDb();
    const cfg = { ...config, DATABASE_URL: db.url };
    k = await connectKafka(cfg);
    await migrate(db.pool(1), log);
    const sinkGroup = groups(cfg).sink;
    await startGroupAtEnd(k.kafka, k.admin, sinkGroup, SINK_TOPICS);

    const schemaId = k.schemaIds.get(valueSubject(VOUCHER_TOPIC)) ?? 0;
    const voucher = (v: Voucher): Message => ({ key: v.merchantId, value: k.codec.encode(schemaId, v) });
    const refused = refusedVouchers(run);
    await produceEach(VOUCHER_TOPIC, {
      good0: voucher(sampleVoucher(`${run}-0`)),
      huge: voucher(refused.hugeKey.voucher),
      good1: voucher(sampleVoucher(`${run}-1`)),
      nul: { ...voucher(refused.nul.voucher), headers: { "x-trace": `nul-${run}` } },
      garbage: { key: "m-1", value: Buffer.from("not avro at all") },
      good2: voucher(sampleVoucher(`${run}-2`)),
    });
    await produceEach(DLQ_TOPIC, {
      hostileHeaders: {
        key: `so-${run}`,
        value: Buffer.from([0, 1, 2]),
        headers: {
          "__connect.errors.topic": "payment.success",
          "__connect.errors.partition": "99999999999",
          "__connect.errors.offset": "9".repeat(30),
          "finance.dlq.reason": "INVALID_PAYLOAD",
          "__connect.errors.exception.message": "tendered < amount",
        },
      },
    });

    const ends = rangeEnds(await pendingRanges(k.admin, sinkGroup, [VOUCHER_TOPIC, DLQ_TOPIC]));
    const sink = new SinkService({
      config: cfg,
      kafka: k.kafka,
      codec: k.codec,
      pool: db.pool(2),
      log,
      metrics,
    });
    await sink.start();
    try {
      await Promise.race([
        sink.reached(ends),
        sleep(60_000, undefined, { ref: false }).then(() =>
          Promise.reject(new Error("the sink did not commit past the bad records")),
        ),
      ]);
    } finally {
      await sink.stop();
    }
  });

  after(async () => {
    await k?.close();
    await db?.drop();
  });

  const query = async (sql: string, params: unknown[]) => (await db.pool(1).query(sql, params)).rows;
  const deadLetterOf = async (name: string) => {
    const p = placed.get(name);
    assert.ok(p);
    return query(
      `SELECT topic, partition, "offset"::text, key, value, headers, reason, error FROM finance.dead_letter
       WHERE partition = $1 AND "offset" = $2 AND topic IN ($3, $4)`,
      [p.partition, p.offset, VOUCHER_TOPIC, DLQ_TOPIC],
    );
  };

  it("books the good vouchers", async () => {
    const keys = [0, 1, 2].map((i) => sampleVoucher(`${run}-${i}`).idempotencyKey);
    const rows = await query("SELECT idempotency_key FROM finance.voucher WHERE idempotency_key = ANY($1)", [
      keys,
    ]);
    assert.equal(rows.length, 3);
  });

  it("stores the refused vouchers as POSTING_FAILED dead letters with their place and bytes", async () => {
    for (const [name, error] of [
      ["huge", refusedVouchers(run).hugeKey.error],
      ["nul", refusedVouchers(run).nul.error],
    ] as const) {
      const p = placed.get(name);
      const rows = await deadLetterOf(name);
      assert.equal(rows.length, 1, name);
      const [row] = rows;
      assert.equal(row.topic, VOUCHER_TOPIC);
      assert.equal(row.reason, "POSTING_FAILED");
      assert.match(row.error, error);
      assert.deepEqual(row.key, Buffer.from(String(p?.message.key)));
      assert.deepEqual(row.value, p?.message.value);
    }
    assert.deepEqual((await deadLetterOf("nul"))[0]?.headers, { "x-trace": `nul-${run}` });
  });

  it("keeps an undecodable voucher as UNDECODABLE, and a dead letter with out-of-range origin headers at its own place", async () => {
    assert.deepEqual(
      (await deadLetterOf("garbage")).map((r) => [r.topic, r.reason, r.value]),
      [[VOUCHER_TOPIC, "UNDECODABLE", Buffer.from("not avro at all")]],
    );
    assert.deepEqual(
      (await deadLetterOf("hostileHeaders")).map((r) => [r.topic, r.reason, r.error]),
      [[DLQ_TOPIC, "INVALID_PAYLOAD", "tendered < amount"]],
    );
  });

  it("commits the sink's offsets past every bad record", async () => {
    const committed = await k.admin.fetchOffsets({
      groupId: groups(config).sink,
      topics: [VOUCHER_TOPIC, DLQ_TOPIC],
    });
    for (const [name, p] of placed) {
      const topic = name === "hostileHeaders" ? DLQ_TOPIC : VOUCHER_TOPIC;
      const at = committed
        .find((t) => t.topic === topic)
        ?.partitions.find((q) => q.partition === p.partition);
      assert.ok(
        at && BigInt(at.offset) > BigInt(p.offset),
        `${name}: committed ${at?.offset}, record at ${p.offset}`,
      );
    }
  });
});
