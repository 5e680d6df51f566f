import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { OVERSIZE_HEADER, REASON_HEADER } from "../../src/deadletter/headers.js";
import { deadLetterAt, dlqRecord, type SourceRecord } from "../../src/deadletter/records.js";
import { insertDeadLetters } from "../../src/deadletter/store.js";
import { migrate } from "../../src/sinks/migrate.js";
import { MIGRATIONS } from "../../src/sinks/migrations/index.js";
import { DLQ_TOPIC, SOURCE_TOPICS, VOUCHER_TOPIC } from "../../src/topics.js";
import { log } from "../support/log.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/** A dead letter on finance.posting.dlq at `offset`, claiming `origin` in its headers. */
function dlqAt(offset: number, origin: { topic: string; partition: number; offset: number }, value: string) {
  const source: SourceRecord = {
    topic: DLQ_TOPIC,
    partition: 1,
    offset: String(offset),
    key: Buffer.from("k"),
    value: Buffer.from(value),
    headers: {
      "__connect.errors.topic": origin.topic,
      "__connect.errors.partition": String(origin.partition),
      "__connect.errors.offset": String(origin.offset),
      [REASON_HEADER]: "UNRESOLVED",
    },
  };
  return dlqRecord(source);
}

const ownPlace = (topic: string, offset: number, value: string) =>
  deadLetterAt(
    { topic, partition: 0, offset: String(offset), key: null, value: Buffer.from(value), headers: {} },
    "POSTING_FAILED",
    "refused",
  );

describe("finance.dead_letter rows are unique by where the project read them (migration 4)", () => {
  let db: ThrowawayDb;
  let pool: pg.Pool;
  before(async () => {
    db = await createThrowawayDb();
    pool = db.pool(2);
  });
  after(() => db.drop());

  const rows = async () =>
    (
      await pool.query<{
        topic: string;
        offset: string;
        value: Buffer;
        dlq_partition: number | null;
        dlq_offset: string | null;
        from_dlq: boolean;
      }>(
        `SELECT topic, "offset"::text, value, dlq_partition, dlq_offset::text, from_dlq
         FROM finance.dead_letter ORDER BY id`,
      )
    ).rows;

  it("upgrades rows written before: legacy rows keep their place, those from the dead-letter topic are marked", async () => {
    await migrate(
      pool,
      log,
      MIGRATIONS.filter((m) => m.version <= 3),
    );
    // What the sink wrote before migration 4: one dead letter from the topic (origin from its
    // headers) and one voucher it refused at its own place.
    const legacyDlq = dlqAt(10, { topic: SOURCE_TOPICS.paymentSuccess, partition: 2, offset: 7 }, "legacy");
    const legacyOwn = ownPlace(VOUCHER_TOPIC, 5, "refused voucher");
    await pool.query(
      `INSERT INTO finance.dead_letter (topic, partition, "offset", key, value, headers, reason, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10, $11, $12, $13, $14, $15, $16)`,
      [legacyDlq, legacyOwn].flatMap((r) => [
        r.topic,
        r.partition,
        String(r.offset),
        r.key,
        r.value,
        JSON.stringify(r.headers),
        r.reason,
        r.error,
      ]),
    );
    const { applied } = await migrate(pool, log);
    assert.deepEqual(applied, [4]);
    const [dlq, own] = await rows();
    assert.equal(dlq?.from_dlq, true);
    assert.equal(dlq?.dlq_offset, null);
    assert.equal(own?.from_dlq, false);

    // The legacy dead letter read again after the upgrade (now with its place) is the same row.
    assert.equal(await insertDeadLetters(pool, [legacyDlq]), 0);
    // The refused voucher refused again at the same place is the same row.
    assert.equal(await insertDeadLetters(pool, [ownPlace(VOUCHER_TOPIC, 5, "refused voucher")]), 0);
    // Another dead letter claiming the legacy one's origin is kept beside it.
    assert.equal(
      await insertDeadLetters(pool, [
        dlqAt(11, { topic: SOURCE_TOPICS.paymentSuccess, partition: 2, offset: 7 }, "another"),
      ]),
      1,
    );
    assert.equal((await rows()).length, 3);
  });

  it("two dead letters claiming the same origin are both kept; a redelivered one is kept once", async () => {
    const origin = { topic: SOURCE_TOPICS.inventoryAdjusted, partition: 0, offset: 42 };
    const genuine = dlqAt(100, origin, "genuine");
    const forged = dlqAt(101, origin, "forged");
    assert.equal(await insertDeadLetters(pool, [forged]), 1);
    assert.equal(await insertDeadLetters(pool, [genuine, genuine]), 1);
    assert.equal(await insertDeadLetters(pool, [genuine, forged]), 0);
    // The same record dead-lettered again (a replay of its event) at a new place on the topic.
    assert.equal(await insertDeadLetters(pool, [dlqAt(102, origin, "genuine")]), 0);
    const claiming = (await rows()).filter((r) => r.topic === origin.topic && r.offset === "42");
    assert.deepEqual(claiming.map((r) => [r.value.toString(), r.dlq_offset]).sort(), [
      ["forged", "101"],
      ["genuine", "100"],
    ]);
  });

  it("a forged origin naming a refused voucher's place takes nothing from it, and is never a refused voucher", async () => {
    const forged = dlqAt(200, { topic: VOUCHER_TOPIC, partition: 0, offset: 9 }, "forged voucher");
    assert.equal(await insertDeadLetters(pool, [forged]), 1);
    assert.equal(await insertDeadLetters(pool, [ownPlace(VOUCHER_TOPIC, 9, "genuine refusal")]), 1);
    const at9 = (await rows()).filter((r) => r.topic === VOUCHER_TOPIC && r.offset === "9");
    assert.deepEqual(at9.map((r) => [r.value.toString(), r.from_dlq]).sort(), [
      ["forged voucher", true],
      ["genuine refusal", false],
    ]);
  });

  it("the stub of a dead letter too large for the topic adds no row beside the whole record; a stub of nothing is kept", async () => {
    const origin = { topic: SOURCE_TOPICS.paymentSuccess, partition: 1, offset: 5000 };
    // The topology stores the whole record at its own place, then produces the stub.
    const whole = deadLetterAt(
      { ...origin, offset: "5000", key: Buffer.from("k"), value: Buffer.from("x".repeat(100)), headers: {} },
      "INVALID_PAYLOAD",
      "too large",
    );
    assert.equal(await insertDeadLetters(pool, [whole]), 1);
    const stub = (offset: number, at: typeof origin) => {
      const r = dlqAt(offset, at, "");
      return { ...r, value: null, headers: { ...r.headers, [OVERSIZE_HEADER]: "2000000" } };
    };
    assert.equal(await insertDeadLetters(pool, [stub(400, origin)]), 0);
    assert.equal(await insertDeadLetters(pool, [stub(401, { ...origin, offset: 5001 })]), 1);
  });

  it("a dead letter whose origin headers are unusable is kept at its place on the dead-letter topic", async () => {
    const r = dlqRecord({
      topic: DLQ_TOPIC,
      partition: 2,
      offset: "300",
      key: null,
      value: Buffer.from("x"),
      headers: { "__connect.errors.topic": "payment.success", "__connect.errors.partition": "99999999999" },
    });
    assert.equal(await insertDeadLetters(pool, [r, r]), 1);
    const stored = (await rows()).find((x) => x.dlq_offset === "300");
    assert.equal(stored?.topic, DLQ_TOPIC);
    assert.equal(stored?.dlq_partition, 2);
  });
});
