import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { groups } from "../../src/config.js";
import type { Voucher } from "../../src/domain/voucher.js";
import { migrate } from "../../src/sinks/migrate.js";
import { DLQ_TOPIC, SOURCE_TOPICS, VOUCHER_TOPIC } from "../../src/topics.js";
import { PostingService } from "../../src/topology/posting-service.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import {
  connectKafka,
  endOffsetsOf,
  produce,
  readFrom,
  startGroupsAtEnd,
  type TestKafka,
  testConfig,
} from "../support/pipeline.js";
import { publishCdc, publishPurchaseOrder, purchaseOrderEvent, scenarioIds } from "../support/scenario.js";

/**
 * Issue 21: a member waiting for a missing reference must not hold the group's rebalance. Before,
 * a batch waiting for references held its partitions until the wait ended; the consumer runtime
 * ends the wait when a heartbeat finds the group rebalancing, so a second instance joins within
 * seconds, and the event — neither dead-lettered nor lost — posts once its reference exists.
 */
describe("a rebalance while a batch waits for a missing reference (real broker)", () => {
  // Far longer than the test: the wait must be cut short by the rebalance, not waited out.
  const config = testConfig({ RESOLVE_TIMEOUT_MS: "120000" });
  const ids = scenarioIds();
  const po = `po-rebalance-${ids.run}`;
  const eventId = `evt-rebalance-${ids.run}`;
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  const services: PostingService[] = [];
  let k: TestKafka;

  const service = async () => {
    const s = new PostingService({ config, kafka: k.kafka, codec: k.codec, log, metrics, pool });
    services.push(s);
    await s.start();
    return s;
  };

  /** The topology group's members once it is stable, else null. */
  const stableMembers = async (): Promise<number | null> => {
    const [group] = (await k.admin.describeGroups([groups(config).topology])).groups;
    return group?.state === "Stable" ? group.members.length : null;
  };

  before(async () => {
    k = await connectKafka(config);
    await startGroupsAtEnd(k, config);
    await migrate(pool, log);
    await publishCdc(k, ids);
  });

  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await k?.close();
    await pool.end();
  });

  it("lets the second instance in within seconds, dead-letters nothing, and posts the event later", async () => {
    const vouchersFrom = await endOffsetsOf(k.admin, VOUCHER_TOPIC);
    const deadLettersFrom = await endOffsetsOf(k.admin, DLQ_TOPIC);
    await service();
    const event = purchaseOrderEvent(k, ids, po, eventId);
    await produce(k.kafka, SOURCE_TOPICS.purchaseOrderReceived, [{ key: po, value: event }]);
    await sleep(3_000); // the first instance now waits for the purchase order

    const joining = Date.now();
    await service();
    let members: number | null = null;
    while (members !== 2 && Date.now() - joining < 60_000) {
      await sleep(250);
      members = await stableMembers().catch(() => null);
    }
    const joinedMs = Date.now() - joining;
    assert.equal(members, 2, "both instances in the group");
    assert.ok(joinedMs < 15_000, `the group took ${joinedMs} ms to take the second instance in`);

    await publishPurchaseOrder(k, ids, po, "PO-REBALANCE");
    const key = `PURCHASE_PAYMENT:${ids.M}:PURCHASE_ORDER:${po}`;
    const vouchers = await readFrom(k.kafka, VOUCHER_TOPIC, vouchersFrom, (rs) =>
      rs.some((r) => k.codec.decode<Voucher>(r.value).idempotencyKey === key),
    );
    assert.ok(
      vouchers.some((r) => k.codec.decode<Voucher>(r.value).idempotencyKey === key),
      "the event posted once its purchase order existed",
    );
    const deadLetters = await readFrom(
      k.kafka,
      DLQ_TOPIC,
      deadLettersFrom,
      (rs) => rs.some((r) => r.value?.equals(event) ?? false),
      5_000,
    );
    assert.equal(
      deadLetters.filter((r) => r.value?.equals(event) ?? false).length,
      0,
      "an interrupted wait is not UNRESOLVED",
    );
  });
});
