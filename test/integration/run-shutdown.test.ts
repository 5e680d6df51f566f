import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SOURCE_TOPICS } from "../../src/topics.js";
import { connectKafka, produce, startGroupsAtEnd, type TestKafka, testConfig } from "../support/pipeline.js";
import { runEnv } from "../support/run-process.js";
import { publishCdc, publishPurchaseOrder, purchaseOrderEvent, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

const PORT = 20464 + Math.floor(Math.random() * 500);

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => null);
    if (found !== null) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * SPEC §4: shutdown is bounded also while events wait for missing references, and such an
 * event is not dead-lettered for being interrupted: after a restart it posts once the data exists.
 */
describe("finance-posting run: SIGTERM while an event waits for a missing reference", () => {
  const ids = scenarioIds();
  const po = `po-late-${ids.run}`;
  const key = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${po}`;
  const eventId = `evt-late-${ids.run}`;
  let db: ThrowawayDb;
  let k: TestKafka;
  let env: NodeJS.ProcessEnv;
  let stderr = "";

  const start = () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    return child;
  };
  const ready = () =>
    until("/readyz", async () => ((await fetch(`http://127.0.0.1:${PORT}/readyz`)).ok ? true : null), 60_000);
  const rows = async (sql: string, params: unknown[]) => (await db.pool(1).query(sql, params)).rowCount ?? 0;
  const vouchers = () => rows("SELECT 1 FROM finance.voucher WHERE idempotency_key = $1", [key]);
  // Other deployments may read the shared topics too: only this deployment's own log says what it did.
  const deadLettered = () =>
    stderr.split("\n").some((l) => l.includes(eventId) && l.includes("dead-lettered"));

  before(async () => {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    await startGroupsAtEnd(k, config);
    env = runEnv(db.url, config.CONSUMER_GROUP, PORT, {
      // Far longer than the shutdown may take: the wait must be cut short, not waited out.
      RESOLVE_TIMEOUT_MS: "120000",
      SHUTDOWN_TIMEOUT_MS: "20000",
      LOG_LEVEL: "info",
    });
    await publishCdc(k, ids);
  });

  after(async () => {
    await k?.close();
    await db?.drop();
  });

  it("exits 0 promptly, dead-letters nothing, and posts the event after a restart once the data exists", async () => {
    const first = start();
    await ready();
    await produce(k.kafka, SOURCE_TOPICS.purchaseOrderReceived, [
      { key: po, value: purchaseOrderEvent(k, ids, po, eventId) },
    ]);
    await until(
      "the event to wait for its purchase order",
      async () => (/not found/.test(stderr) ? true : null),
      30_000,
    ).catch(() => sleep(3_000));

    const stopping = Date.now();
    first.kill("SIGTERM");
    const [code] = await once(first, "exit");
    const tookMs = Date.now() - stopping;
    assert.equal(code, 0, stderr.slice(-2000));
    assert.ok(tookMs < 15_000, `shutdown took ${tookMs} ms with a 120 s resolve timeout`);
    assert.equal(deadLettered(), false, "an interrupted wait is not UNRESOLVED");

    await publishPurchaseOrder(k, ids, po, "PO-LATE");
    const second = start();
    try {
      await until("the voucher", async () => ((await vouchers()) === 1 ? true : null), 60_000);
    } finally {
      second.kill("SIGTERM");
      await once(second, "exit");
    }
    assert.equal(await vouchers(), 1);
    assert.equal(deadLettered(), false, "nothing dead-lettered");
  });
});
