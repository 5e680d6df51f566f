// Readiness probe of the SASL_SSL broker (scripts/stack.sh with STACK_KAFKA_SASL_SSL=1):
//   node probe.mjs <brokers> <tls dir> [--wait <seconds>]
// Exits 0 as soon as a metadata request through TLS (trusting only <tls dir>/ca.pem) and
// SCRAM-SHA-512 (the user `finance-posting`) lists at least one broker, 1 when that does not
// happen within the wait (default: one try), 2 on bad usage. Never prints the password.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const [brokers, tlsDir, ...rest] = process.argv.slice(2);
const waitIdx = rest.indexOf("--wait");
const waitSeconds = waitIdx >= 0 ? Number(rest[waitIdx + 1]) : 0;
if (!brokers || !tlsDir || Number.isNaN(waitSeconds)) {
  console.error("usage: probe.mjs <brokers> <tls dir> [--wait <seconds>]");
  process.exit(2);
}

async function kafka() {
  const { Kafka, logLevel } = (await import("kafkajs")).default;
  const password = readFileSync(join(tlsDir, "client-password"), "utf8").trim();
  const admin = new Kafka({
    clientId: "stack-probe",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 3000,
    retry: { retries: 0 },
    ssl: { ca: [readFileSync(join(tlsDir, "ca.pem"), "utf8")] },
    sasl: { mechanism: "scram-sha-512", username: "finance-posting", password },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error("no brokers registered yet");
    return `SASL_SSL, SCRAM-SHA-512, cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const deadline = Date.now() + waitSeconds * 1000;
let lastError = "";
for (;;) {
  try {
    console.log(await kafka());
    process.exit(0);
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
  }
  if (Date.now() >= deadline) break;
  await sleep(500);
}
console.error(`kafka (SASL_SSL) at ${brokers} not ready: ${lastError}`);
process.exit(1);
