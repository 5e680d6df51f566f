import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type ReplaySummary, replayCommand } from "../../src/commands/replay.js";
import { type Config, groups } from "../../src/config.js";
import { seededAccountId } from "../../src/ids.js";
import { commitGroupOffsets } from "../../src/kafka/group-offsets.js";
import { money } from "../../src/money.js";
import { SINK_TOPICS } from "../../src/sinks/sink-service.js";
import { ALL_SOURCE_TOPICS, CDC_TOPICS, SOURCE_TOPICS, valueSubject } from "../../src/topics.js";
import {
  between,
  type CdcRecord,
  CdcTail,
  connectorStatus,
  debeziumSkipReason,
  deploymentOn,
  SourceDb,
} from "../support/debezium.js";
import { connectKafka, endsOf, produce, type TestKafka } from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * Real Debezium in the loop (issue 23): rows written to a real Postgres reach the CDC topics
 * through the Debezium PostgreSQL connector on Kafka Connect with an Avro converter against the
 * registry, and the pipeline books source events against them by SPEC §5 — each event resolved
 * against the world as it was when the event occurred, by Debezium's `source.ts_ms`.
 *
 * Needs the Debezium part of the stack (`bash scripts/stack.sh debezium-up`); skipped without it.
 * The source database and the CDC topics outlive a run, so every row here has ids of its own
 * run; the seeded rows (read by the connector's initial snapshot) are shared and never changed.
 */
const SKIP = debeziumSkipReason();

const SNAPSHOT_VALUES = ["first", "first_in_data_collection", "true", "last_in_data_collection", "last"];

describe("real Debezium: CDC from a real Postgres through Kafka Connect, booked by the pipeline", {
  skip: SKIP,
}, () => {
  const run = randomUUID().slice(0, 8);
  const M = `dbz-m-${run}`;
  const BANK = `dbz-bank-${run}`;
  const VENDOR = `dbz-vendor-${run}`;
  const PO = (n: number) => `dbz-po${n}-${run}`;
  const CASH = seededAccountId(M, "CASH");
  const NEW_COLUMN = `credit_limit_${run}`;

  let k: TestKafka;
  let source: SourceDb;
  let tail: CdcTail;
  let seed: Awaited<ReturnType<SourceDb["seed"]>>;
  let liveDb: ThrowawayDb;
  let replayDb: ThrowawayDb;
  let live: { env: NodeJS.ProcessEnv; config: Config };
  let sourceStart: Awaited<ReturnType<typeof endsOf>>;
  let first: ReplaySummary;
  let second: ReplaySummary;
  let replayed: ReplaySummary;
  /** Commit times (Debezium source.ts_ms) of this run's changes, by name. */
  const at: Record<string, number> = {};
  /** The records of this run's changes, by name. */
  const rec: Record<string, CdcRecord> = {};
  /** Each event's id by its name, and the times they occurred. */
  const events: Record<string, { eventId: string; occurredAt: number }> = {};

  const encode = (topic: string, value: unknown) =>
    k.codec.encode(k.schemaIds.get(valueSubject(topic)) ?? 0, value);

  const sale = async (name: string, merchantId: string, accountId: string, occurredAt: number) => {
    const eventId = `evt-${name}-${run}`;
    const saleOrderId = `so-${name}-${run}`;
    events[name] = { eventId, occurredAt };
    await produce(k.kafka, SOURCE_TOPICS.paymentSuccess, [
      {
        key: saleOrderId,
        value: encode(SOURCE_TOPICS.paymentSuccess, {
          eventId,
          occurredAt,
          merchantId,
          currency: "VND",
          saleOrderId,
          saleOrderCode: `SO-${name}`,
          orderTotal: money("150000"),
          customer: null,
          attempts: [
            {
              uid: "card",
              method: "CARD",
              amount: money("150000"),
              tendered: null,
              finance: { source: { id: accountId } },
            },
          ],
        }),
      },
    ]);
  };

  const received = async (name: string, purchaseOrderId: string, occurredAt: number) => {
    const eventId = `evt-${name}-${run}`;
    events[name] = { eventId, occurredAt };
    await produce(k.kafka, SOURCE_TOPICS.purchaseOrderReceived, [
      {
        key: purchaseOrderId,
        value: encode(SOURCE_TOPICS.purchaseOrderReceived, {
          eventId,
          occurredAt,
          merchantId: M,
          currency: "VND",
          purchaseOrderId,
          receivedValue: money("500000"),
          payments: [{ uid: "p1", accountId: CASH, amount: money("300000.5") }],
        }),
      },
    ]);
  };

  /** One statement in the source database, then its change as Debezium delivered it. */
  const change = async (
    name: string,
    sql: string,
    params: unknown[],
    topic: string,
    id: string,
    op: string,
  ): Promise<CdcRecord> => {
    const from = tail.records.length;
    await source.exec(sql, params);
    const r = await tail.change(topic, id, op, from);
    rec[name] = r;
    at[name] = r.value?.source.ts_ms ?? Number.NaN;
    // Commit times of later changes are then at least a few ms apart.
    await sleep(15);
    return r;
  };

  const vouchers = async (db: ThrowawayDb, merchantId: string) => {
    const { rows } = await db.pool(1).query(
      `SELECT v.voucher_id, v.event_id, v.kind, v.amount::text, v.party_name_en, v.source_id, v.source_code,
         (SELECT json_agg(json_build_array(l.line_no, l.account_id, l.side, l.amount::text) ORDER BY l.line_no)
          FROM finance.ledger_line l WHERE l.voucher_id = v.voucher_id) AS lines
       FROM finance.voucher v WHERE v.merchant_id = $1 ORDER BY v.voucher_id`,
      [merchantId],
    );
    return rows as {
      voucher_id: string;
      event_id: string;
      kind: string;
      amount: string;
      party_name_en: string | null;
      source_id: string;
      source_code: string | null;
      lines: [number, string, string, string][];
    }[];
  };
  const byEvent = async (db: ThrowawayDb, merchantId: string) =>
    new Map((await vouchers(db, merchantId)).map((v) => [v.event_id, v]));
  /** What this run booked, dead-lettered and found in conflict (other tests may share the topics). */
  const outcome = async (db: ThrowawayDb) => {
    const pool = db.pool(1);
    const kinds = await pool.query(
      "SELECT kind, count(*)::int n FROM finance.voucher WHERE event_id LIKE $1 GROUP BY kind ORDER BY kind",
      [`%-${run}`],
    );
    // Keys are bytes (other tests' dead letters include binary ones): matched as bytes.
    const dead = await pool.query(
      `SELECT reason, count(*)::int n FROM finance.dead_letter WHERE position($1::bytea IN key) > 0
       GROUP BY reason ORDER BY reason`,
      [Buffer.from(`-${run}`)],
    );
    const conflicts = await pool.query(
      "SELECT count(*)::int n FROM finance.content_conflict WHERE idempotency_key LIKE $1",
      [`%${run}%`],
    );
    return {
      vouchers: Object.fromEntries(kinds.rows.map((r) => [r.kind, r.n])),
      deadLetters: Object.fromEntries(dead.rows.map((r) => [r.reason, r.n])),
      conflicts: conflicts.rows[0]?.n,
    };
  };
  let afterFirst: Awaited<ReturnType<typeof outcome>>;

  before(async () => {
    const status = await connectorStatus();
    assert.deepEqual(status, { connector: "RUNNING", tasks: ["RUNNING"] }, "the connector runs");
    liveDb = await createThrowawayDb();
    replayDb = await createThrowawayDb();
    live = deploymentOn(liveDb.url);
    k = await connectKafka(live.config);
    source = new SourceDb();
    seed = await source.seed();
    const ours = (r: CdcRecord) =>
      Boolean(r.key?.id.includes(run) || r.key?.id.startsWith(seed.merchant)) || r.value?.op === "t";
    tail = new CdcTail(k, ours);
    await tail.start();

    // The deployment sees only the source events published from now on.
    sourceStart = await endsOf(k, ALL_SOURCE_TOPICS);
    await commitGroupOffsets(k.kafka, k.admin, groups(live.config).topology, sourceStart);
    await commitGroupOffsets(k.kafka, k.admin, groups(live.config).sink, await endsOf(k, SINK_TOPICS));

    // 1. The seller's world, written to the source database and streamed by Debezium.
    await change(
      "merchant",
      "INSERT INTO merchant (id, name, currency, status, created_at) VALUES ($1, 'Cửa hàng Lan', 'VND', 'ACTIVE', '2026-01-02 03:04:05.678+07')",
      [M],
      CDC_TOPICS.merchant,
      M,
      "c",
    );
    await change(
      "bank",
      "INSERT INTO finance_account (id, merchant_id, code, name, type, status) VALUES ($1, $2, 'BANK_1', 'Vietcombank', 'MONEY', 'ACTIVE')",
      [BANK, M],
      CDC_TOPICS.financeAccount,
      BANK,
      "c",
    );
    await change(
      "vendor",
      "INSERT INTO vendor (id, merchant_id, name, status) VALUES ($1, $2, 'Old Dairy', 'ACTIVE')",
      [VENDOR, M],
      CDC_TOPICS.vendor,
      VENDOR,
      "c",
    );
    for (const n of [1, 2, 3, 4, 5]) {
      await change(
        `po${n}`,
        "INSERT INTO purchase_order (id, merchant_id, code, vendor_id, status) VALUES ($1, $2, $3, $4, 'RECEIVED')",
        [PO(n), M, `PO-${n}-${run}`, VENDOR],
        CDC_TOPICS.purchaseOrder,
        PO(n),
        "c",
      );
    }

    // 2. Events that happened after that, booked live.
    const created = at.po5 as number;
    await sale("sale1", M, BANK, created + 1);
    await received("received1", PO(1), created + 1);
    // The seeded merchant's bank account was ARCHIVED when the connector's snapshot read it:
    // an event from long before the snapshot is not held to that status (SPEC §5), one after it is.
    await sale("seedBefore", seed.merchant, seed.archivedBank, Date.UTC(2025, 5, 1, 2, 0, 0));
    await sale("seedAfter", seed.merchant, seed.archivedBank, Date.now());
    first = await replayCommand({ migrate: true, progress: false }, live.env);
    afterFirst = await outcome(liveDb);

    // 3. The world changes after those events.
    await change(
      "archived",
      "UPDATE finance_account SET status = 'ARCHIVED' WHERE id = $1",
      [BANK],
      CDC_TOPICS.financeAccount,
      BANK,
      "u",
    );
    await change(
      "renamed",
      "UPDATE vendor SET name = 'New Dairy' WHERE id = $1",
      [VENDOR],
      CDC_TOPICS.vendor,
      VENDOR,
      "u",
    );
    await change(
      "recoded",
      "UPDATE purchase_order SET code = $2 WHERE id = $1",
      [PO(2), `PO-2-RECODED-${run}`],
      CDC_TOPICS.purchaseOrder,
      PO(2),
      "u",
    );
    // A column added to a table: Debezium registers a new value schema for the topic.
    await source.exec(`ALTER TABLE vendor ADD COLUMN ${NEW_COLUMN} numeric(19,4)`);
    await change(
      "renamedAgain",
      `UPDATE vendor SET name = 'Newest Dairy', ${NEW_COLUMN} = 12345.6789 WHERE id = $1`,
      [VENDOR],
      CDC_TOPICS.vendor,
      VENDOR,
      "u",
    );
    await change(
      "deleted",
      "DELETE FROM purchase_order WHERE id = $1",
      [PO(5)],
      CDC_TOPICS.purchaseOrder,
      PO(5),
      "d",
    );
    await tail.waitFor("the tombstone after the delete", (rs) =>
      rs.find((r) => r.topic === CDC_TOPICS.purchaseOrder && r.key?.id === PO(5) && r.value === null),
    );
    // Truncates of earlier runs (and earlier source databases) are on the topic too: this one
    // was committed after the delete.
    const deleted = rec.deleted?.value?.source ?? { ts_ms: 0, lsn: 0 };
    await source.exec("TRUNCATE purchase_order");
    rec.truncated = await tail.waitFor("the truncate", (rs) =>
      rs.find(
        (r) =>
          r.topic === CDC_TOPICS.purchaseOrder &&
          r.value?.op === "t" &&
          r.value.source.ts_ms >= deleted.ts_ms &&
          (r.value.source.lsn ?? 0) > (deleted.lsn ?? 0),
      ),
    );
    at.truncated = rec.truncated.value?.source.ts_ms ?? Number.NaN;
    await sleep(15);
    await change(
      "po6",
      "INSERT INTO purchase_order (id, merchant_id, code, vendor_id, status) VALUES ($1, $2, $3, $4, 'RECEIVED')",
      [PO(6), M, `PO-6-${run}`, VENDOR],
      CDC_TOPICS.purchaseOrder,
      PO(6),
      "c",
    );

    // 4. Events published now, some of which happened before the changes.
    const t = at as Record<string, number>;
    await sale("sale2", M, BANK, between(created, t.archived as number));
    await sale("sale3", M, BANK, (t.archived as number) + 1);
    await received("received2", PO(2), between(created, t.renamed as number));
    await received("received3", PO(3), between(t.renamed as number, t.renamedAgain as number));
    await received("received4", PO(4), (t.truncated as number) + 1);
    await received("received5", PO(5), between(created, t.deleted as number));
    await received("received5Late", PO(5), (t.deleted as number) + 1);
    await received("received6", PO(6), (t.po6 as number) + 1);
    second = await replayCommand({ migrate: false, progress: false }, live.env);

    // 5. A new environment replays every event of this run from the start.
    const fresh = deploymentOn(replayDb.url);
    await commitGroupOffsets(k.kafka, k.admin, groups(fresh.config).topology, sourceStart);
    await commitGroupOffsets(k.kafka, k.admin, groups(fresh.config).sink, await endsOf(k, SINK_TOPICS));
    replayed = await replayCommand({ migrate: true, progress: false }, fresh.env);
  });

  after(async () => {
    await source?.exec(`ALTER TABLE vendor DROP COLUMN IF EXISTS ${NEW_COLUMN}`).catch(() => undefined);
    await tail?.stop();
    await source?.close();
    await k?.close();
    await liveDb?.drop();
    await replayDb?.drop();
  });

  it("Debezium's records: envelope, source block, keys and schema ids as the registry serves them", async () => {
    const mine = tail.records.filter((r) => r.key?.id.includes(run));
    assert.equal(mine.length, 15, "9 inserts, 4 updates, a delete and its tombstone");
    for (const r of mine.filter((r) => r.value !== null)) {
      const v = r.value as NonNullable<CdcRecord["value"]>;
      assert.match(v.source.version, /^3\./, "Debezium 3.x");
      assert.equal(v.source.connector, "postgresql");
      assert.equal(v.source.name, "nx.seller");
      assert.equal(v.source.db, "seller");
      assert.equal(v.source.schema, "public");
      assert.equal(r.topic, `nx.seller.public.${v.source.table}`);
      assert.equal(v.source.snapshot, "false", "streamed, not snapshot");
      assert.equal(typeof v.source.txId, "number");
      assert.equal(typeof v.source.lsn, "number");
      // 3.x adds microsecond and nanosecond times; ts_ns is past 2^53 (a bigint once decoded).
      assert.equal(BigInt(v.source.ts_us ?? 0) / 1000n, BigInt(v.source.ts_ms));
      assert.equal(typeof v.source.ts_ns, "bigint");
      assert.equal(BigInt(v.source.ts_ns ?? 0) / 1_000_000n, BigInt(v.source.ts_ms));
      assert.equal(typeof v.source.sequence, "string", "sequence: [last commit LSN, LSN] as a JSON string");
      assert.ok("transaction" in v, "a transaction block (null without provide.transaction.metadata)");
      assert.ok((v.ts_ms ?? 0) >= v.source.ts_ms, "the connector's own time is after the commit");
      assert.ok(
        r.headers.some((h) => h.startsWith("__debezium.context.")),
        "3.x adds context headers",
      );
      assert.deepEqual(Object.keys(r.key ?? {}), ["id"]);
    }
    // Every schema id in the records is one the registry's Confluent-compatible API answers for.
    const ids = new Set(mine.flatMap((r) => [r.keySchemaId, r.valueSchemaId]).filter((id) => id !== null));
    for (const id of ids) {
      const res = await fetch(`${process.env.SCHEMA_REGISTRY_URL}/schemas/ids/${id}`);
      assert.equal(res.status, 200, `schema id ${id} through /schemas/ids/{id}`);
    }
  });

  it("the initial snapshot: op r, snapshot first/true/last, source.ts_ms the snapshot's time", () => {
    const snap = tail.records.filter((r) => r.key?.id.startsWith(seed.merchant) && r.value?.op === "r");
    const tables = new Set(snap.map((r) => r.value?.source.table));
    assert.deepEqual([...tables].sort(), ["finance_account", "merchant", "purchase_order", "vendor"]);
    for (const r of snap)
      assert.ok(SNAPSHOT_VALUES.includes(r.value?.source.snapshot ?? ""), r.value?.source.snapshot ?? "");
    const flags = new Set(snap.map((r) => r.value?.source.snapshot));
    assert.ok(flags.has("first") && flags.has("last"), [...flags].join(", "));
    const merchant = snap.find((r) => r.key?.id === seed.merchant)?.value;
    assert.equal(merchant?.after?.created_at, "2024-01-01T20:04:05.678000Z", "timestamptz: ISO-8601 in UTC");
    // One snapshot, one time: every row it read carries the time the snapshot began, not the
    // rows' commit times; the connector's own ts_ms is when it emitted each of them.
    const times = new Set(snap.map((r) => r.value?.source.ts_ms));
    assert.equal(times.size, 1, "one source.ts_ms for the whole snapshot");
    for (const r of snap) assert.ok((r.value?.ts_ms ?? 0) >= (r.value?.source.ts_ms ?? 0));
    // Then it streams: the stack's readiness check updated the seeded merchant after the snapshot.
    const streamed = tail.records.find((r) => r.key?.id === seed.merchant && r.value?.op === "u");
    assert.ok(
      (streamed?.value?.source.ts_ms ?? 0) > ([...times][0] ?? Number.POSITIVE_INFINITY),
      "streamed after the snapshot",
    );
  });

  it("updates, deletes with their tombstones, a truncate and an added column, as Debezium writes them", () => {
    // REPLICA IDENTITY FULL (finance_account, vendor): `before` is the whole old row.
    assert.equal(rec.archived?.value?.before?.status, "ACTIVE");
    assert.equal(rec.archived?.value?.after?.status, "ARCHIVED");
    // REPLICA IDENTITY DEFAULT (purchase_order): no `before` on an update; on a delete only the
    // key is real (Debezium fills the other required columns with empty strings).
    assert.equal(rec.recoded?.value?.before, null);
    assert.equal(rec.deleted?.value?.after, null);
    assert.equal(rec.deleted?.value?.before?.id, PO(5));
    // TRUNCATE: one record for the table, no key, no rows.
    assert.equal(rec.truncated?.key, null);
    assert.equal(rec.truncated?.value?.before, null);
    assert.equal(rec.truncated?.value?.after, null);
    assert.equal(rec.truncated?.value?.source.table, "purchase_order");
    // A column added: a new writer schema, its numeric(19,4) an Avro decimal.
    assert.notEqual(rec.renamedAgain?.valueSchemaId, rec.renamed?.valueSchemaId);
    assert.equal(String(rec.renamedAgain?.value?.after?.[NEW_COLUMN]), "12345.6789");
  });

  it("books the events that happened before the changes live", async () => {
    assert.ok(first.events > 0);
    assert.deepEqual(afterFirst, {
      vouchers: { PURCHASE_PAYMENT: 1, SALE_RECEIPT: 2 },
      deadLetters: { INVALID_PAYLOAD: 1 },
      conflicts: 0,
    });
    const mine = await byEvent(liveDb, M);
    assert.equal(mine.get(events.sale1?.eventId ?? "")?.lines[0]?.[1], BANK);
    const po1 = mine.get(events.received1?.eventId ?? "");
    assert.equal(po1?.party_name_en, "Old Dairy");
    assert.equal(po1?.source_code, `PO-1-${run}`);
    const seeded = await byEvent(liveDb, seed.merchant);
    assert.equal(seeded.get(events.seedBefore?.eventId ?? "")?.lines[0]?.[1], seed.archivedBank);
    assert.equal(seeded.has(events.seedAfter?.eventId ?? ""), false);
  });

  it("resolves each later event as of when it occurred, by Debezium's commit times (SPEC §5)", async () => {
    assert.ok(second.events > 0);
    assert.deepEqual(await outcome(liveDb), {
      vouchers: { PURCHASE_PAYMENT: 6, SALE_RECEIPT: 3 },
      deadLetters: { INVALID_PAYLOAD: 2, UNRESOLVED: 1 },
      conflicts: 0,
    });
    const mine = await byEvent(liveDb, M);
    const v = (name: string) => mine.get(events[name]?.eventId ?? "");
    assert.ok(v("sale2"), "paid into the bank account before it was archived");
    assert.equal(v("sale3"), undefined, "paid into it after it was archived: INVALID_PAYLOAD");
    assert.equal(v("received2")?.party_name_en, "Old Dairy", "the vendor's name before the rename");
    assert.equal(v("received2")?.source_code, `PO-2-${run}`, "the code before the re-code");
    assert.equal(v("received3")?.party_name_en, "New Dairy", "between the renames");
    assert.equal(v("received4")?.party_name_en, "Newest Dairy", "after the rename with the new schema");
    assert.equal(v("received4")?.source_code, `PO-4-${run}`, "a TRUNCATE is ignored: finance keeps its rows");
    assert.equal(v("received5")?.source_code, `PO-5-${run}`, "received before the delete");
    assert.equal(v("received6")?.source_code, `PO-6-${run}`, "a row inserted after the truncate");
  });

  it("finance.account holds the CDC'd account and the merchant's seeded ones", async () => {
    const { rows } = await liveDb
      .pool(1)
      .query("SELECT account_id, merchant_id, code FROM finance.account WHERE account_id = ANY($1)", [
        [BANK, CASH],
      ]);
    assert.deepEqual(
      rows.map((r) => [r.account_id, r.merchant_id]).sort(),
      [
        [BANK, M],
        [CASH, M],
      ].sort(),
    );
  });

  it("a replay into a new database books the same vouchers, voucher by voucher", async () => {
    assert.deepEqual(await vouchers(replayDb, M), await vouchers(liveDb, M));
    assert.deepEqual(await vouchers(replayDb, seed.merchant), await vouchers(liveDb, seed.merchant));
    assert.ok(replayed.events > 0);
    assert.deepEqual(await outcome(replayDb), await outcome(liveDb));
  });
});
