import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { groups } from "../../src/config.js";
import { ensureTopics } from "../../src/kafka/client.js";
import { startGroupAtEnd } from "../../src/kafka/group-offsets.js";
import { migrate } from "../../src/sinks/migrate.js";
import { SINK_TOPICS, SinkService } from "../../src/sinks/sink-service.js";
import { CDC_TOPICS, VOUCHER_TOPIC, valueSubject } from "../../src/topics.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { connectKafka, produce, type TestKafka, testConfig } from "../support/pipeline.js";
import { publishCdc, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { sampleVoucher } from "../support/vouchers.js";

const LATE = CDC_TOPICS.financeAccount;

async function until(what: string, holds: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

/**
 * A new cluster where the account CDC topic appears only after the sink started: its accounts
 * must still reach finance.account (CONTRACTS: every seeded account, and the merchants' own),
 * without a restart, and the vouchers go on being booked across the sink's new subscription.
 */
describe("sink: a CDC topic created after its start", () => {
  const run = randomBytes(4).toString("hex");
  const ids = scenarioIds();
  let db: ThrowawayDb;
  let k: TestKafka;
  let sink: SinkService;
  let reader: pg.Pool;

  const publishVoucher = async (id: string) => {
    const v = sampleVoucher(`${run}-${id}`, { merchantId: ids.M });
    const schemaId = k.schemaIds.get(valueSubject(VOUCHER_TOPIC)) ?? 0;
    await produce(k.kafka, VOUCHER_TOPIC, [{ key: v.merchantId, value: k.codec.encode(schemaId, v) }]);
    return v.voucherId;
  };
  const booked = async (voucherId: string) =>
    (await reader.query("SELECT 1 FROM finance.voucher WHERE voucher_id = $1", [voucherId])).rowCount === 1;
  const account = async (accountId: string) =>
    (
      await db
        .pool(1)
        .query<{ name_en: string }>("SELECT name_en FROM finance.account WHERE account_id = $1", [accountId])
    ).rows[0]?.name_en;

  before(async () => {
    db = await createThrowawayDb();
    const config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);
    reader = db.pool(1);
    await migrate(reader, log);
    await k.admin.deleteTopics({ topics: [LATE], timeout: 30_000 });
    await until(
      "the account CDC topic is deleted",
      async () => !(await k.admin.listTopics()).includes(LATE),
      60_000,
    );
    await startGroupAtEnd(k.kafka, k.admin, groups(config).sink, SINK_TOPICS);
    sink = new SinkService({
      config,
      kafka: k.kafka,
      codec: k.codec,
      pool: db.pool(2),
      log,
      metrics,
      lateTopicPollMs: 500,
    });
    await sink.start();
  });

  after(async () => {
    await sink?.stop();
    // Whatever happened, later tests find the topic in place.
    await ensureTopics(k.admin, [LATE], 3).catch(() => undefined);
    await k?.close();
    await db?.drop();
  });

  it("books vouchers while the topic is missing", async () => {
    const id = await publishVoucher("before");
    await until("the voucher is booked", () => booked(id));
  });

  it("follows the topic once it exists: its accounts reach finance.account, and vouchers go on", async () => {
    await ensureTopics(k.admin, [LATE], 3);
    await publishCdc(k, ids);
    await until(
      "the merchant's own account is stored",
      async () => (await account(ids.BANK)) === "Vietcombank",
    );
    assert.ok(await account(ids.CASH), "the seeded accounts of a merchant on a topic present at the start");
    const id = await publishVoucher("after");
    await until("a voucher published after the new subscription is booked", () => booked(id));
  });

  it("stops, and stays stopped", async () => {
    await sink.stop();
    const id = await publishVoucher("after-stop");
    await sleep(2_000);
    assert.equal(await booked(id), false);
  });
});
