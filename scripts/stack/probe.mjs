// Readiness probe for the local stack, used by scripts/stack.sh.
//   node probe.mjs kafka <brokers> [--wait <seconds>]
//   node probe.mjs registry <ccompat-url> [--wait <seconds>]
//   node probe.mjs postgres <database-url> [--wait <seconds>]
// Exits 0 as soon as the service answers a real request (a Kafka metadata request listing at
// least one broker; GET <registry>/subjects answering 200; SELECT 1), 1 when it does not
// answer within the wait (default: one try), 2 on bad usage.
import { setTimeout as sleep } from "node:timers/promises";

const [kind, target, ...rest] = process.argv.slice(2);
const waitIdx = rest.indexOf("--wait");
const waitSeconds = waitIdx >= 0 ? Number(rest[waitIdx + 1]) : 0;
if (!kind || !target || Number.isNaN(waitSeconds)) {
  console.error("usage: probe.mjs kafka|registry|postgres <address> [--wait <seconds>]");
  process.exit(2);
}

async function kafka(brokers) {
  const { Kafka, logLevel } = (await import("kafkajs")).default;
  const admin = new Kafka({
    clientId: "stack-probe",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1500,
    requestTimeout: 3000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error("no brokers registered yet");
    return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function registry(url) {
  const res = await fetch(`${url.replace(/\/$/, "")}/subjects`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`GET /subjects answered HTTP ${res.status}`);
  const subjects = await res.json();
  if (!Array.isArray(subjects)) throw new Error("GET /subjects did not answer a JSON array");
  return `${subjects.length} subject(s)`;
}

async function postgres(url) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query("select current_setting('server_version') as v");
    return `PostgreSQL ${rows[0].v}`;
  } finally {
    await client.end().catch(() => {});
  }
}

const probes = { kafka, registry, postgres };
const probe = probes[kind];
if (!probe) {
  console.error(`unknown service kind: ${kind}`);
  process.exit(2);
}

const deadline = Date.now() + waitSeconds * 1000;
let lastError = "";
for (;;) {
  try {
    console.log(await probe(target));
    process.exit(0);
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
  }
  if (Date.now() >= deadline) break;
  await sleep(500);
}
console.error(`${kind} at ${target} not ready: ${lastError}`);
process.exit(1);
