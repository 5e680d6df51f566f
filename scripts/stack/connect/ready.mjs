// Readiness of the local stack's Debezium part, used by scripts/stack.sh:
//   node ready.mjs <connect-url> <connector> <source-db-url> <brokers> <registry-ccompat-url> <seed-merchant-id> [--wait <seconds>]
// Ready means: the connector and its task are RUNNING, and a change made now in the source
// database reaches its topic through the connector — so the initial snapshot is done (Debezium
// streams only after it), and the record's schema id is one the registry's Confluent-compatible
// API answers for. The change is a no-op update of the seeded merchant (`SET name = name`): a
// real `u` record that changes nothing the pipeline keeps.
// Exits 0 when ready, 1 when not within the wait (or the connector failed), 2 on bad usage.
import { setTimeout as sleep } from "node:timers/promises";

const args = process.argv.slice(2);
const waitIdx = args.indexOf("--wait");
const waitSeconds = waitIdx >= 0 ? Number(args[waitIdx + 1]) : 120;
const [connectUrl, connector, sourceUrl, brokers, registryUrl, seedMerchant] =
  waitIdx >= 0 ? args.slice(0, waitIdx) : args;
if (!seedMerchant || Number.isNaN(waitSeconds)) {
  console.error(
    "usage: ready.mjs <connect-url> <connector> <source-db-url> <brokers> <registry-ccompat-url> <seed-merchant-id> [--wait <seconds>]",
  );
  process.exit(2);
}
const TOPIC = "nx.seller.public.merchant";
const deadline = Date.now() + waitSeconds * 1000;
const left = () => Math.max(0, deadline - Date.now());

async function connectorRunning() {
  let last = "no answer";
  while (left() > 0) {
    try {
      const res = await fetch(`${connectUrl}/connectors/${connector}/status`, {
        signal: AbortSignal.timeout(3000),
      });
      if (res.ok) {
        const status = await res.json();
        const states = [status.connector?.state, ...(status.tasks ?? []).map((t) => t.state)];
        const failed = (status.tasks ?? []).find((t) => t.state === "FAILED");
        if (status.connector?.state === "FAILED" || failed) {
          throw new Error(
            `connector ${connector} FAILED: ${(failed?.trace ?? status.connector?.trace ?? "").slice(0, 4000)}`,
          );
        }
        if (states.length > 1 && states.every((s) => s === "RUNNING")) return;
        last = `states ${states.join(", ")}`;
      } else last = `HTTP ${res.status}`;
    } catch (e) {
      if (String(e.message).includes("FAILED")) throw e;
      last = e.message;
    }
    await sleep(500);
  }
  throw new Error(`connector ${connector} not RUNNING at ${connectUrl}: ${last}`);
}

async function schemaOf(id, cache) {
  if (!cache.has(id)) {
    const res = await fetch(`${registryUrl.replace(/\/$/, "")}/schemas/ids/${id}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok)
      throw new Error(
        `registry has no schema id ${id} (HTTP ${res.status} from ${registryUrl}/schemas/ids/${id})`,
      );
    const avro = (await import("avsc")).default;
    // Debezium 3.x's source.ts_ns (epoch nanoseconds) is past 2^53: avsc's own long refuses it.
    const wide = avro.types.LongType.__with({
      fromBuffer: (buf) => buf.readBigInt64LE(),
      toBuffer: (n) => {
        const buf = Buffer.alloc(8);
        buf.writeBigInt64LE(BigInt(n));
        return buf;
      },
      fromJSON: BigInt,
      toJSON: Number,
      isValid: (n) => typeof n === "bigint",
      compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    });
    const typeHook = (s) => (s === "long" || s?.type === "long" ? wide : undefined);
    cache.set(id, avro.Type.forSchema(JSON.parse((await res.json()).schema), { typeHook }));
  }
  return cache.get(id);
}

async function changeArrives() {
  const { Kafka, logLevel } = (await import("kafkajs")).default;
  const pg = (await import("pg")).default;
  const kafka = new Kafka({
    clientId: "stack-debezium-ready",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topics = await admin.listTopics();
  const from = topics.includes(TOPIC) ? await admin.fetchTopicOffsets(TOPIC) : [];
  await admin.disconnect();

  // The change is made again every few seconds until one arrives: the connector reports RUNNING
  // before its replication slot exists, and a change made before that is only in the snapshot
  // (op "r"), never streamed (CI waited 180 s for one once).
  const db = new pg.Client({ connectionString: sourceUrl, connectionTimeoutMillis: 3000 });
  await db.connect();
  const touch = async () => {
    const { rowCount } = await db.query("UPDATE merchant SET name = name WHERE id = $1", [seedMerchant]);
    if (rowCount !== 1) throw new Error(`seeded merchant ${seedMerchant} not found in the source database`);
  };
  await touch();

  const consumer = kafka.consumer({ groupId: `stack-debezium-ready-${process.pid}-${Date.now()}` });
  const cache = new Map();
  let found = null;
  let problem = null;
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const p of from) consumer.seek({ topic: TOPIC, partition: p.partition, offset: p.high });
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const start = from.find((p) => p.partition === partition)?.high ?? "0";
      if (found || !message.value || BigInt(message.offset) < BigInt(start)) return;
      try {
        const id = message.value.readInt32BE(1);
        const value = (await schemaOf(id, cache)).fromBuffer(message.value.subarray(5));
        if (value.op === "u" && value.after?.id === seedMerchant)
          found = { id, offset: message.offset, partition };
      } catch (e) {
        problem = e;
      }
    },
  });
  let touchedAt = Date.now();
  while (!found && !problem && left() > 0) {
    await sleep(200);
    if (Date.now() - touchedAt >= 5000) {
      touchedAt = Date.now();
      await touch();
    }
  }
  await db.end();
  await consumer.disconnect();
  if (problem) throw problem;
  if (!found) throw new Error(`the change to ${seedMerchant} did not reach ${TOPIC} within ${waitSeconds}s`);
  return found;
}

try {
  await connectorRunning();
  const found = await changeArrives();
  console.log(
    `connector ${connector} RUNNING, snapshot done, streaming: a change reached ${TOPIC} partition ${found.partition} offset ${found.offset}, schema id ${found.id}`,
  );
  process.exit(0);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
