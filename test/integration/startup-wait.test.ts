import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { AvroCodec } from "../../src/avro/codec.js";
import { awaitServices, migrateDatabase } from "../../src/commands/runtime.js";
import { ConfigError, TransientInfraError } from "../../src/errors.js";
import { classify } from "../../src/failures.js";
import { createKafka } from "../../src/kafka/client.js";
import { log } from "../support/log.js";
import { testConfig } from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * A start waits for Postgres (issue 21: an instance restarted while the database restarted
 * exited 1 on its migration's refused connection). The database sits behind a TCP relay that
 * starts listening only after a while, as a restarting server would.
 */
function relayTo(target: URL, port: number, defaultPort = 5432): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || defaultPort), target.hostname);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("a start waits for Postgres within STARTUP_WAIT_MS (real Postgres)", () => {
  let db: ThrowawayDb;
  let relay: Server | undefined;
  const pools: pg.Pool[] = [];
  const poolOn = (port: number) => {
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(port);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    pool.on("error", () => undefined);
    pools.push(pool);
    return pool;
  };

  after(async () => {
    relay?.close();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await db?.drop();
  });

  it("migrates once the database answers, having waited for it", async () => {
    db = await createThrowawayDb();
    const port = await freePort();
    const started = Date.now();
    const migrating = migrateDatabase(poolOn(port), 30_000, log);
    await sleep(1_500);
    relay = await relayTo(new URL(db.url), port);
    await migrating;
    assert.ok(Date.now() - started >= 1_500, "it waited for the database");
    const { rows } = await poolOn(port).query("SELECT count(*)::int AS n FROM finance.schema_migrations");
    assert.ok((rows[0]?.n as number) >= 1);
  });

  it("gives up after the wait, as a transient failure, so the process exits 1 and is restarted", async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(migrateDatabase(poolOn(port), 1_000, log), TransientInfraError);
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 10_000, `waited ${waited} ms`);
  });
});

describe("a start waits for the Kafka cluster and the schema registry within STARTUP_WAIT_MS (real broker and registry)", () => {
  const relays: Server[] = [];
  after(() => {
    for (const r of relays) r.close();
  });

  /** The stack's broker and registry, each behind a relay that is not listening yet. */
  async function behindRelays() {
    const config = testConfig();
    const [kafkaPort, registryPort] = [await freePort(), await freePort()];
    const broker = new URL(`kafka://${config.KAFKA_BROKERS[0]}`);
    const registry = new URL(config.SCHEMA_REGISTRY_URL);
    const viaRelay = new URL(config.SCHEMA_REGISTRY_URL);
    viaRelay.hostname = "127.0.0.1";
    viaRelay.port = String(registryPort);
    const relayed = testConfig({
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      SCHEMA_REGISTRY_URL: viaRelay.toString(),
      KAFKA_RETRIES: "0",
    });
    return {
      log,
      kafka: createKafka(relayed, log),
      codec: new AvroCodec({ url: relayed.SCHEMA_REGISTRY_URL }),
      open: async () => {
        // Bootstrap through the relay; the broker then names its own address, which answers.
        relays.push(await relayTo(broker, kafkaPort, 9092), await relayTo(registry, registryPort, 80));
      },
    };
  }

  it("waits for both, then goes on", async () => {
    const services = await behindRelays();
    const started = Date.now();
    const waiting = awaitServices(services, 60_000);
    await sleep(2_000);
    await services.open();
    await waiting;
    assert.ok(Date.now() - started >= 2_000, "it waited for them");
  });

  it("gives up after the wait, as a transient failure, so the process exits 1 and is restarted", async () => {
    const services = await behindRelays();
    const started = Date.now();
    await assert.rejects(awaitServices(services, 1_500), (e) => classify(e) === "outage");
    const waited = Date.now() - started;
    assert.ok(waited >= 1_400 && waited < 30_000, `waited ${waited} ms`);
  });

  it("does not wait on a registry that refuses the credentials: an operator must act", async () => {
    const refusing = createHttpServer((_req, res) => {
      res.writeHead(401).end();
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const { port } = refusing.address() as { port: number };
    try {
      const codec = new AvroCodec({
        url: `http://127.0.0.1:${port}`,
        auth: { username: "u", password: "wrong" },
      });
      const started = Date.now();
      await assert.rejects(codec.reachable(), ConfigError);
      await assert.rejects(
        awaitServices({ kafka: createKafka(testConfig(), log), codec, log }, 60_000),
        ConfigError,
      );
      assert.ok(Date.now() - started < 10_000);
    } finally {
      refusing.close();
    }
  });
});
