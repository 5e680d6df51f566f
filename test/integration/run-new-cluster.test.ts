import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { groups } from "../../src/config.js";
import { ensureTopics } from "../../src/kafka/client.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { SINK_TOPICS } from "../../src/sinks/sink-service.js";
import { ALL_SOURCE_TOPICS } from "../../src/topics.js";
import { connectKafka, type TestKafka, testConfig } from "../support/pipeline.js";
import { poll, runEnv, startRun } from "../support/run-process.js";
import { publishCdc, publishEvents, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

const PORT = 21464 + Math.floor(Math.random() * 500);

/** Deletes the source topics and waits until the cluster no longer lists them. */
async function deleteSourceTopics(k: TestKafka): Promise<void> {
  const present = (await k.admin.listTopics()).filter((t) => (ALL_SOURCE_TOPICS as string[]).includes(t));
  if (present.length > 0) await k.admin.deleteTopics({ topics: present, timeout: 30_000 });
  const deadline = Date.now() + 60_000;
  while ((await k.admin.listTopics()).some((t) => (ALL_SOURCE_TOPICS as string[]).includes(t))) {
    if (Date.now() > deadline) throw new Error("the source topics were not deleted within 60 s");
    await sleep(250);
  }
}

describe("finance-posting run on a new cluster: the source topics do not exist yet", () => {
  let db: ThrowawayDb;
  let k: TestKafka;
  let child: ChildProcess;
  let stderr = "";

  before(async () => {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    await deleteSourceTopics(k);
    // The sink's topics keep earlier tests' vouchers: this run books only what comes next.
    await startGroupAtEnd(k.kafka, k.admin, groups(config).sink, SINK_TOPICS);
    child = startRun(
      runEnv(db.url, config.CONSUMER_GROUP, PORT, { RESOLVE_TIMEOUT_MS: "1000", LOG_LEVEL: "info" }),
      (text) => {
        stderr += text;
      },
    );
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    // Whatever happened, later tests find the source topics in place.
    await ensureTopics(k.admin, ALL_SOURCE_TOPICS, 3).catch(() => undefined);
    await k?.close();
    await db?.drop();
  });

  it("waits for them, live and not ready, naming them, instead of exiting", async () => {
    await poll(`http://127.0.0.1:${PORT}/healthz`, (s) => s === 200, 30_000);
    await poll(`http://127.0.0.1:${PORT}/healthz`, () => /source topics not found/.test(stderr), 60_000);
    for (const topic of ALL_SOURCE_TOPICS) assert.match(stderr, new RegExp(topic.replace(".", "\\.")));
    // Well past kafkajs' own retries of a start: still waiting, still answering.
    await sleep(5_000);
    assert.equal(child.exitCode, null, `run exited:\n${stderr.slice(-2_000)}`);
    assert.equal((await fetch(`http://127.0.0.1:${PORT}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${PORT}/readyz`)).status, 503);
  });

  it("once upstream creates them and publishes, becomes ready and books the events", async () => {
    await ensureTopics(k.admin, ALL_SOURCE_TOPICS, 3);
    const ids = scenarioIds();
    await publishCdc(k, ids);
    await publishEvents(k, ids);
    await poll(`http://127.0.0.1:${PORT}/readyz`, (s) => s === 200, 60_000);
    await poll(
      `http://127.0.0.1:${PORT}/metrics`,
      (s, b) => s === 200 && /^finance_vouchers_posted_total\{kind="SALE_RECEIPT"\} 2$/m.test(b),
      90_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; run's log ends:\n${stderr.slice(-6_000)}`);
    });
    assert.match(stderr, /source topics found/);
  });

  it("stops on SIGTERM and exits 0", async () => {
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  });
});
