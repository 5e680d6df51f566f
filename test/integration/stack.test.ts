import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Admin, Consumer, Producer } from "kafkajs";
import { AvroCodec, schemaIdOf } from "../../src/avro/codec.js";
import type { PaymentSucceeded } from "../../src/domain/events.js";
import { isMoney, money } from "../../src/money.js";
import { loadSchema } from "../../src/schemas.js";
import { comparable } from "../support/comparable.js";
import {
  createTestSchema,
  createTopic,
  ensureStack,
  type StackEndpoints,
  testKafka,
  uniqueName,
} from "../support/stack.js";

/** Every decimal field of a decoded payment.success, wherever it sits. */
function decimalsOf(e: PaymentSucceeded): unknown[] {
  return [
    e.orderTotal,
    ...e.attempts.flatMap((a) => [a.amount, ...(a.tendered === null ? [] : [a.tendered])]),
  ];
}

describe("local stack: real Kafka, schema registry and Postgres", () => {
  let stack: StackEndpoints;
  let admin: Admin;

  before(async () => {
    stack = await ensureStack();
    admin = testKafka(stack.kafkaBrokers).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
  });

  it("round-trips an Avro payment.success event through the broker, decoded with the writer schema from the registry", async () => {
    const subject = `${uniqueName("payment.success")}-value`;
    const producerCodec = new AvroCodec({ url: stack.schemaRegistryUrl });
    const schemaId = await producerCodec.register(subject, loadSchema("payment.success-value"));

    const sent: PaymentSucceeded = {
      eventId: uniqueName("evt"),
      occurredAt: Date.UTC(2026, 10, 21, 8, 30, 15, 123),
      merchantId: uniqueName("merchant"),
      currency: "VND",
      saleOrderId: uniqueName("so"),
      saleOrderCode: "SO-000123",
      orderTotal: money("150000.0001"),
      customer: { id: uniqueName("cust"), name: "Nguyễn Văn A" },
      attempts: [
        {
          uid: uniqueName("att"),
          method: "CASH",
          amount: money("150000.0000"),
          tendered: money("200000.0000"),
          finance: { source: { id: uniqueName("acct") } },
        },
        { uid: uniqueName("att"), method: "CARD", amount: money("0.0001"), tendered: null, finance: null },
      ],
    };

    const topic = await createTopic(admin, { partitions: 3 });
    const kafka = testKafka(stack.kafkaBrokers);
    const producer: Producer = kafka.producer({ idempotent: true });
    const consumer: Consumer = kafka.consumer({ groupId: uniqueName("stack-test") });
    try {
      await producer.connect();
      const value = producerCodec.encode(schemaId, sent);
      assert.equal(value[0], 0, "Confluent wire format: magic byte 0");
      assert.equal(schemaIdOf(value), schemaId, "Confluent wire format: the registered schema id");
      await producer.send({ topic, acks: -1, messages: [{ key: sent.saleOrderId, value }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<{ key: string | undefined; value: Buffer | null }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => resolve({ key: message.key?.toString(), value: message.value }),
        });
      });
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("no message consumed within 30s")), 30_000).unref(),
      );
      const message = await Promise.race([received, timeout]);
      assert.equal(message.key, sent.saleOrderId);

      // A codec that has never seen the schema: it must fetch it by id from the registry.
      const consumerCodec = new AvroCodec({ url: stack.schemaRegistryUrl });
      await consumerCodec.prepare([message.value]);
      const decoded = consumerCodec.decode<PaymentSucceeded>(message.value);

      for (const d of decimalsOf(decoded))
        assert.ok(isMoney(d), `decoded decimal is a Decimal: ${String(d)}`);
      assert.deepEqual(comparable(decoded), comparable(sent));
      assert.ok(decoded.orderTotal.equals(money("150000.0001")));
      assert.equal(decoded.attempts[1]?.amount.toFixed(4), "0.0001");
      assert.equal(decoded.attempts[1]?.tendered, null);
      assert.equal(decoded.attempts[1]?.finance, null);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
  });

  it("supports transactions: a read_committed consumer sees committed records and never aborted ones", async () => {
    const topic = await createTopic(admin, { partitions: 1 });
    const kafka = testKafka(stack.kafkaBrokers);
    const producer = kafka.producer({
      transactionalId: uniqueName("stack-tx"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const consumer = kafka.consumer({ groupId: uniqueName("stack-tx"), readUncommitted: false });
    try {
      await producer.connect();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: "k", value: "aborted" }] });
      await aborted.abort();
      const committed = await producer.transaction();
      // "end" marks the last record: once it is read, everything before it has been.
      await committed.send({
        topic,
        messages: [
          { key: "k", value: "committed" },
          { key: "k", value: "end" },
        ],
      });
      await committed.commit();

      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`saw only ${JSON.stringify(seen)} within 30s`)),
          30_000,
        );
        void consumer.run({
          eachMessage: async ({ message }) => {
            const v = message.value?.toString() ?? "";
            seen.push(v);
            if (v === "end") {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      assert.deepEqual(seen, ["committed", "end"]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    }
  });

  it("answers the same id for the same schema, and serves it back by id", async () => {
    const subject = `${uniqueName("payment.success")}-value`;
    const schema = loadSchema("payment.success-value");
    const codec = new AvroCodec({ url: stack.schemaRegistryUrl });
    const first = await codec.register(subject, schema);
    const again = await new AvroCodec({ url: stack.schemaRegistryUrl }).register(subject, schema);
    assert.equal(again, first);
    // The same schema laid out differently (as another producer's library may send it) is the
    // same schema: the registry answers the existing id instead of making a new version.
    const pretty = await fetch(
      `${stack.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}/versions`,
      {
        method: "POST",
        headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
        body: JSON.stringify({ schema: JSON.stringify(schema, null, 2) }),
      },
    );
    assert.equal(pretty.status, 200);
    assert.deepEqual(await pretty.json(), { id: first });

    const byId = await fetch(`${stack.schemaRegistryUrl}/schemas/ids/${first}`);
    assert.equal(byId.status, 200);
    const body = (await byId.json()) as { schema: string };
    assert.equal((JSON.parse(body.schema) as { name: string }).name, "PaymentSucceeded");

    const versions = await fetch(
      `${stack.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}/versions`,
    );
    assert.deepEqual(await versions.json(), [1]);
  });

  it("creates a table in Postgres, inserts and reads back exact numerics", async () => {
    const schema = await createTestSchema(stack.databaseUrl, "stack_test");
    try {
      await schema.pool.query(
        "create table ledger_probe (id int primary key, amount numeric(19,4) not null, note text)",
      );
      await schema.pool.query("insert into ledger_probe values ($1, $2, $3), ($4, $5, $6)", [
        1,
        "999999999999999.9999",
        "max",
        2,
        "0.0001",
        "Khách lẻ",
      ]);
      const { rows } = await schema.pool.query<{ id: number; amount: string; note: string }>(
        "select id, amount, note from ledger_probe order by id",
      );
      assert.deepEqual(rows, [
        { id: 1, amount: "999999999999999.9999", note: "max" },
        { id: 2, amount: "0.0001", note: "Khách lẻ" },
      ]);
      const where = await schema.pool.query<{ schema: string }>(
        "select table_schema as schema from information_schema.tables where table_name = 'ledger_probe'",
      );
      assert.deepEqual(where.rows, [{ schema: schema.name }]);
    } finally {
      await schema.drop();
    }
    const gone = await schema.pool.query("select 1").then(
      () => false,
      () => true,
    );
    assert.ok(gone, "the pool is ended by drop()");
  });
});
