import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ReplaySummary, replayCommand } from "../../src/commands/replay.js";
import { groups } from "../../src/config.js";
import { commitGroupOffsets } from "../../src/kafka/group-offsets.js";
import { SINK_TOPICS } from "../../src/sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, CDC_TOPICS, keySubject, valueSubject } from "../../src/topics.js";
import {
  connectKafka,
  debezium,
  deploymentOn,
  endsOf,
  produce,
  type TestKafka,
} from "../support/pipeline.js";
import { publishCdc, publishEvents, SCENARIO, scenarioIds } from "../support/scenario.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * SPEC §5's promise: the same topics give the same books whenever they are processed. The
 * scenario is booked; then, after every event happened, the seller's world changes the way it
 * does every day (the bank account archived, the vendor renamed and then deleted, the purchase
 * order re-coded, the bank account moved to another merchant, the merchant deleted); every event
 * is redelivered; and the whole history is replayed into a new database.
 */

const deployment = (db: ThrowawayDb) => deploymentOn(db.url);

const LATER = Date.UTC(2026, 1, 1, 9, 0, 0);

/** The seller database's changes after every event of the scenario, through Debezium. */
async function changeTheWorld(k: TestKafka, ids: ReturnType<typeof scenarioIds>): Promise<void> {
  const send = async (
    topic: string,
    table: string,
    id: string,
    op: string,
    row: Record<string, unknown>,
    at: number,
  ) => {
    const key = k.codec.encode(k.schemaIds.get(keySubject(topic)) ?? 0, { id });
    const value = k.codec.encode(k.schemaIds.get(valueSubject(topic)) ?? 0, debezium(table, op, row, at));
    await produce(
      k.kafka,
      topic,
      op === "d"
        ? [
            { key, value },
            { key, value: null },
          ]
        : [{ key, value }],
    );
  };
  const bank = { id: ids.BANK, merchant_id: ids.M, code: "BANK_1", name: "Vietcombank", type: "MONEY" };
  const vendor = { id: ids.VENDOR, merchant_id: ids.M, status: "ACTIVE" };
  await send(
    CDC_TOPICS.financeAccount,
    "finance_account",
    ids.BANK,
    "u",
    { ...bank, status: "ARCHIVED" },
    LATER,
  );
  await send(
    CDC_TOPICS.financeAccount,
    "finance_account",
    ids.BANK,
    "u",
    { ...bank, merchant_id: ids.OTHER, status: "ACTIVE" },
    LATER + 1,
  );
  await send(CDC_TOPICS.vendor, "vendor", ids.VENDOR, "u", { ...vendor, name: "Renamed Dairy" }, LATER + 2);
  const po = { id: ids.PO, merchant_id: ids.M, vendor_id: ids.VENDOR, status: "RECEIVED" };
  await send(
    CDC_TOPICS.purchaseOrder,
    "purchase_order",
    ids.PO,
    "u",
    { ...po, code: "PO-RECODED" },
    LATER + 3,
  );
  await send(CDC_TOPICS.vendor, "vendor", ids.VENDOR, "d", { ...vendor, name: "Renamed Dairy" }, LATER + 4);
  await send(
    CDC_TOPICS.merchant,
    "merchant",
    ids.M,
    "d",
    { id: ids.M, name: "Lan's shop", currency: "VND", status: "ACTIVE", created_at: null },
    LATER + 5,
  );
}

describe("the same topics give the same books whenever they are processed (SPEC §5)", () => {
  const ids = scenarioIds();
  let k: TestKafka;
  let liveDb: ThrowawayDb;
  let replayDb: ThrowawayDb;
  let live: ReturnType<typeof deployment>;
  let first: ReplaySummary;
  let redelivered: ReplaySummary;
  let replayed: ReplaySummary;

  const books = async (db: ThrowawayDb) => {
    const { rows } = await db.pool(1).query(
      `SELECT v.voucher_id, v.idempotency_key, v.kind, v.amount::text, v.party_name_en, v.source_code, v.content_hash,
         (SELECT json_agg(json_build_array(l.line_no, l.account_id, l.side, l.amount::text) ORDER BY l.line_no)
          FROM finance.ledger_line l WHERE l.voucher_id = v.voucher_id) AS lines
       FROM finance.voucher v WHERE v.merchant_id = $1 ORDER BY v.voucher_id`,
      [ids.M],
    );
    return rows;
  };

  before(async () => {
    liveDb = await createThrowawayDb();
    replayDb = await createThrowawayDb();
    live = deployment(liveDb);
    k = await connectKafka(live.config);
    const sourceStart = await endsOf(k, ALL_SOURCE_TOPICS);
    await commitGroupOffsets(k.kafka, k.admin, groups(live.config).topology, sourceStart);
    await commitGroupOffsets(k.kafka, k.admin, groups(live.config).sink, await endsOf(k, SINK_TOPICS));
    await publishCdc(k, ids);
    await publishEvents(k, ids);
    first = await replayCommand({ migrate: true, progress: false }, live.env);

    await changeTheWorld(k, ids);
    await publishEvents(k, ids); // every event again, byte for byte
    redelivered = await replayCommand({ migrate: false, progress: false }, live.env);

    // A new environment: a new database, the source topics from the scenario's start, and a sink
    // that sees only what this deployment publishes.
    const fresh = deployment(replayDb);
    await commitGroupOffsets(k.kafka, k.admin, groups(fresh.config).topology, sourceStart);
    await commitGroupOffsets(k.kafka, k.admin, groups(fresh.config).sink, await endsOf(k, SINK_TOPICS));
    replayed = await replayCommand({ migrate: true, progress: false }, fresh.env);
  });

  after(async () => {
    await k?.close();
    await liveDb?.drop();
    await replayDb?.drop();
  });

  it("books the scenario live", async () => {
    assert.equal((await books(liveDb)).length, SCENARIO.distinctVouchers);
    assert.deepEqual(first.deadLetters, {
      UNDECODABLE: 1,
      INVALID_PAYLOAD: 1,
      CROSS_TENANT: 1,
      UNRESOLVED: 1,
    });
  });

  it("a redelivery after the changes is an idempotent replay: nothing new, no conflict, no new dead-letter reason", async () => {
    assert.deepEqual(redelivered.vouchersPosted, {});
    assert.equal(redelivered.contentConflicts, 0);
    assert.deepEqual(redelivered.deadLetters, first.deadLetters, "only the scenario's own bad input");
    assert.equal((await books(liveDb)).length, SCENARIO.distinctVouchers);
  });

  it("finance.account keeps the bank account with its first owner", async () => {
    const { rows } = await liveDb
      .pool(1)
      .query("SELECT merchant_id, status FROM finance.account WHERE account_id = $1", [ids.BANK]);
    assert.equal(rows[0]?.merchant_id, ids.M);
  });

  it("a bulk replay into a new database books the same vouchers, voucher by voucher, as of each event", async () => {
    const expected = await books(liveDb);
    const actual = await books(replayDb);
    assert.deepEqual(actual, expected);
    const purchase = actual.find((v) => v.kind === "PURCHASE_PAYMENT");
    assert.equal(purchase?.party_name_en, "Công ty Sữa", "the vendor's name when the goods were received");
    assert.equal(purchase?.source_code, "PO-000777", "the purchase order's code when it was received");
    assert.deepEqual(replayed.deadLetters, {
      UNDECODABLE: 2,
      INVALID_PAYLOAD: 2,
      CROSS_TENANT: 2,
      UNRESOLVED: 2,
    });
    assert.equal(replayed.contentConflicts, 0);
  });
});
