import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { inspect } from "node:util";
import type { Kafka } from "kafkajs";
import { loadConfig } from "../../src/config.js";
import { createConsumer, createKafka, createProducer, disconnectForGood } from "../../src/kafka/client.js";
import { type CapturedLog, capturedLog } from "../support/captured-log.js";

/**
 * Real TLS and SASL (issue 20 item 8): the project's own client (createKafka with a config from
 * loadConfig) against a Kafka 3.9.1 broker whose only client listener is SASL_SSL with
 * SCRAM-SHA-512, its certificate signed by a CA made when the broker was first started
 * (scripts/stack.sh with STACK_KAFKA_SASL_SSL=1; `.ci/run` brings it up for this test). The
 * settings are the ones an operator sets: KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM,
 * KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD.
 */
const env = process.env;
const brokerEnvSet =
  env.KAFKA_SSL === "true" &&
  !!env.KAFKA_SSL_CA_FILE &&
  env.KAFKA_SASL_MECHANISM === "scram-sha-512" &&
  !!env.KAFKA_SASL_USERNAME &&
  !!env.KAFKA_SASL_PASSWORD;
const SKIP = brokerEnvSet
  ? false
  : "skipped: needs the SASL_SSL broker's settings (KAFKA_SSL=true, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM=scram-sha-512, " +
    'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD). Start it with: eval "$(env -u KAFKA_BROKERS STACK_KAFKA_SASL_SSL=1 ' +
    'STACK_DIR=.stack/kafka-sasl-ssl STACK_KAFKA_PORT=39092 STACK_KAFKA_CONTROLLER_PORT=39093 bash scripts/stack.sh up)" ' +
    "(`.ci/run` does, in its own step)";

// CI sets KAFKA_TLS_TEST_REQUIRED=1 in its step, where a skip would hide a missing setting.
if (!brokerEnvSet && env.KAFKA_TLS_TEST_REQUIRED === "1")
  throw new Error(`KAFKA_TLS_TEST_REQUIRED=1 but ${SKIP}`);

/** The second self-signed CA prepare.sh makes beside the broker's, which signed nothing. */
const otherCa = () => join(dirname(env.KAFKA_SSL_CA_FILE as string), "other-ca.pem");

/** What the operator would see of a failure: message, stack, causes and every field. */
const everything = (e: unknown) => `${String(e)}\n${inspect(e, { depth: 10, showHidden: true })}`;

describe("Kafka through SASL_SSL (SCRAM-SHA-512) with KAFKA_SSL_CA_FILE, the project's client", {
  skip: SKIP,
}, () => {
  const password = env.KAFKA_SASL_PASSWORD as string;
  const open: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of open.reverse()) await close().catch(() => undefined);
  });

  /** The project's client for these settings (the environment's, with some overridden), logging into memory. */
  const clientWith = (overrides: Record<string, string>): { kafka: Kafka; captured: CapturedLog } => {
    const config = loadConfig({ ...env, KAFKA_CLIENT_ID: "tls-sasl-test", ...overrides });
    const captured = capturedLog();
    return { kafka: createKafka(config, captured.log), captured };
  };

  it("connects, creates a topic, produces and consumes a record", { timeout: 60_000 }, async () => {
    const { kafka, captured } = clientWith({});
    const topic = `tls-sasl-${randomBytes(4).toString("hex")}`;
    const admin = kafka.admin();
    await admin.connect();
    open.push(async () => {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    });
    assert.equal(created, true);
    assert.ok((await admin.listTopics()).includes(topic));

    const producer = createProducer(kafka);
    await producer.connect();
    open.push(() => producer.disconnect());
    const value = `booked through TLS ${randomBytes(8).toString("hex")}`;
    await producer.send({ topic, messages: [{ key: "k1", value }] });

    const consumer = createConsumer(kafka, `tls-sasl-test-${randomBytes(4).toString("hex")}`);
    await consumer.connect();
    open.push(() => disconnectForGood(consumer));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no record consumed within 30 s")), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({ key: String(message.key), value: String(message.value) });
        },
      });
    });
    assert.deepEqual(received, { key: "k1", value });
    assert.ok(!captured.text().includes(password), "the password appears in the logs");
  });

  it("a wrong password: a clear authentication error, with no password in it or in the logs", {
    timeout: 60_000,
  }, async () => {
    const wrong = `wrong-${randomBytes(12).toString("hex")}`;
    const { kafka, captured } = clientWith({ KAFKA_SASL_PASSWORD: wrong, KAFKA_RETRIES: "0" });
    const admin = kafka.admin();
    const error = await admin.connect().then(
      () => assert.fail("connected with a wrong password"),
      (e: unknown) => e,
    );
    await admin.disconnect().catch(() => undefined);
    const message = (error as Error).message;
    assert.match(message, /SASL SCRAM SHA512 authentication failed/, `unexpected error: ${message}`);
    assert.match(message, /Authentication failed/i);
    for (const secret of [wrong, password]) {
      assert.ok(!everything(error).includes(secret), "a password appears in the error");
      assert.ok(!captured.text().includes(secret), "a password appears in the logs");
    }
    // The refusal is logged at error level: an operator must act on credentials.
    const errors = captured.lines().filter((l) => l.level === "error");
    assert.ok(
      errors.some((l) => /authentication failed/i.test(JSON.stringify(l))),
      `no error-level log line about the refused authentication:\n${captured.text()}`,
    );
    console.log(`wrong password -> ${message}`);
  });

  it("a wrong CA (another self-signed one): a clear certificate error", { timeout: 60_000 }, async (t) => {
    if (!existsSync(otherCa())) {
      t.skip(`no ${otherCa()} (made by scripts/stack/tls/prepare.sh)`);
      return;
    }
    const { kafka, captured } = clientWith({ KAFKA_SSL_CA_FILE: otherCa(), KAFKA_RETRIES: "0" });
    const admin = kafka.admin();
    const error = await admin.connect().then(
      () => assert.fail("connected trusting a CA that did not sign the broker's certificate"),
      (e: unknown) => e,
    );
    await admin.disconnect().catch(() => undefined);
    const message = (error as Error).message;
    assert.match(message, /certificate/i, `unexpected error: ${message}`);
    assert.ok(!everything(error).includes(password), "the password appears in the error");
    assert.ok(!captured.text().includes(password), "the password appears in the logs");
    console.log(`wrong CA -> ${message}`);
  });

  it("no TLS against the SASL_SSL listener: refused, not hung", { timeout: 60_000 }, async () => {
    const { kafka } = clientWith({ KAFKA_SSL: "false", KAFKA_SSL_CA_FILE: "", KAFKA_RETRIES: "0" });
    const admin = kafka.admin();
    const started = Date.now();
    const error = await admin.connect().then(
      () => assert.fail("connected without TLS to a SASL_SSL listener"),
      (e: unknown) => e,
    );
    await admin.disconnect().catch(() => undefined);
    assert.ok(Date.now() - started < 45_000);
    assert.ok(!everything(error).includes(password), "the password appears in the error");
    console.log(`no TLS -> ${(error as Error).message}`);
  });
});
