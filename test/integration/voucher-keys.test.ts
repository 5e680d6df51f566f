import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { v5 as uuidv5 } from "uuid";
import type { Voucher } from "../../src/domain/voucher.js";
import { voucherDefects } from "../../src/domain/voucher-check.js";
import { FINANCE_NAMESPACE } from "../../src/ids.js";
import { saleReceiptRule } from "../../src/rules/sale-receipt.js";
import { idempotencyKey, unescapedKey } from "../../src/rules/voucher-builder.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { migrate } from "../../src/sinks/migrate.js";
import { writeVoucherBatch } from "../../src/sinks/postgres-writer.js";
import { voucherJson } from "../../src/sinks/voucher-json.js";
import { log } from "../support/log.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";
import { sampleVoucher } from "../support/vouchers.js";
import { card, paymentSucceeded, postEvent } from "../unit/fixtures/rules.js";

let db: ThrowawayDb;
let pool: pg.Pool;
before(async () => {
  db = await createThrowawayDb();
  pool = db.pool(4);
  await migrate(pool, log);
});
after(() => db.drop());

let seq = 0;
/** A merchant of its own per test, so each test sees only its own vouchers. */
const merchant = (label: string) => `m-${label}-${++seq}`;

/** CONTRACTS: voucher_id is UUID v5 of the key, computed here with the library, not the project. */
const uuidOfKey = (key: string) => uuidv5(key, FINANCE_NAMESPACE);

/** The receipt for order `saleOrderId`, attempt `attemptUid`, keyed as SPEC §3 says today. */
function receipt(merchantId: string, saleOrderId: string, attemptUid: string, revenue?: string): Voucher {
  const v = sampleVoucher(saleOrderId, { merchantId, ...(revenue ? { revenue } : {}) });
  const key = idempotencyKey("SALE_RECEIPT", merchantId, "SALE_ORDER", saleOrderId, attemptUid);
  return { ...v, idempotencyKey: key, voucherId: uuidOfKey(key) };
}

/** The same voucher as a version before escaping booked it: key unescaped, voucher id of that key. */
function asBookedBeforeEscaping(v: Voucher): Voucher {
  const key = unescapedKey(v.idempotencyKey);
  return { ...v, idempotencyKey: key, voucherId: uuidOfKey(key) };
}

const identityOf = (v: Voucher) => ({ voucherId: v.voucherId, idempotencyKey: v.idempotencyKey });

interface StoredRow {
  voucher_id: string;
  idempotency_key: string;
  source_id: string;
  lines: number;
}

/** In JS string order: Postgres would order text by its collation. */
const byKey = (a: StoredRow, b: StoredRow) =>
  a.idempotency_key < b.idempotency_key ? -1 : a.idempotency_key > b.idempotency_key ? 1 : 0;

async function storedOf(merchantId: string): Promise<StoredRow[]> {
  const { rows } = await pool.query<StoredRow>(
    `SELECT voucher_id, idempotency_key, source_id,
       (SELECT count(*)::int FROM finance.ledger_line l WHERE l.voucher_id = v.voucher_id) AS lines
     FROM finance.voucher v WHERE merchant_id = $1`,
    [merchantId],
  );
  return rows.sort(byKey);
}

const rowOf = (v: Voucher): StoredRow => ({
  voucher_id: v.voucherId,
  idempotency_key: v.idempotencyKey,
  source_id: v.source.id,
  lines: v.lines.length,
});

async function conflictRows(key: string) {
  const { rows } = await pool.query<{ incoming_hash: string; stored_hash: string; occurrences: number }>(
    "SELECT incoming_hash, stored_hash, occurrences FROM finance.content_conflict WHERE idempotency_key = $1",
    [key],
  );
  return rows;
}

const onlyReplays = (n: number) => ({ inserted: {}, replayed: { SALE_RECEIPT: n }, conflicts: [] });

describe("a voucher stored under its legacy (unescaped) key is recognised across the upgrade", () => {
  it("order SO-H1:A attempt 1, booked before escaping: its escaped copy is a replay; order SO-H1 attempt A:1 is new", async () => {
    const m = merchant("legacy");
    const a = receipt(m, "SO-H1:A", "1");
    const b = receipt(m, "SO-H1", "A:1");
    const legacyA = asBookedBeforeEscaping(a);
    assert.equal(legacyA.idempotencyKey, `SALE_RECEIPT:${m}:SALE_ORDER:SO-H1:A:1`);
    assert.equal(
      asBookedBeforeEscaping(b).idempotencyKey,
      legacyA.idempotencyKey,
      "the keys collided before",
    );
    await writeVoucherBatch(pool, log, [legacyA]);
    assert.deepEqual(await storedOf(m), [rowOf(legacyA)]);

    // the event comes again after the upgrade: nothing new stored
    assert.deepEqual(await writeVoucherBatch(pool, log, [a]), { ...onlyReplays(1), via: "copy" });
    assert.deepEqual(await storedOf(m), [rowOf(legacyA)]);

    // the other document the old key could not tell apart is booked, under its escaped key
    assert.deepEqual(await writeVoucherBatch(pool, log, [b]), {
      inserted: { SALE_RECEIPT: 1 },
      replayed: {},
      conflicts: [],
      via: "copy",
    });
    assert.deepEqual(await storedOf(m), [rowOf(legacyA), rowOf(b)].sort(byKey));

    // and from then on both are replays, in one batch as in many
    assert.deepEqual(await writeVoucherBatch(pool, log, [a, b, a]), { ...onlyReplays(3), via: "copy" });
    assert.deepEqual(await storedOf(m), [rowOf(legacyA), rowOf(b)].sort(byKey));
  });

  it("the other way round: order SO-H1 attempt A:1 booked before escaping, order SO-H1:A attempt 1 is new", async () => {
    const m = merchant("legacy-other");
    const a = receipt(m, "SO-H1:A", "1");
    const b = receipt(m, "SO-H1", "A:1");
    const legacyB = asBookedBeforeEscaping(b);
    await writeVoucherBatch(pool, log, [legacyB]);
    const result = await writeVoucherBatch(pool, log, [a, b]);
    assert.deepEqual(result, {
      inserted: { SALE_RECEIPT: 1 },
      replayed: { SALE_RECEIPT: 1 },
      conflicts: [],
      via: "copy",
    });
    assert.deepEqual(await storedOf(m), [rowOf(legacyB), rowOf(a)].sort(byKey));
  });

  it("a different content from the legacy-stored voucher is a conflict, recorded against it, never inserted", async () => {
    const m = merchant("legacy-conflict");
    const a = receipt(m, "SO-H1:A", "1");
    const legacyA = asBookedBeforeEscaping(a);
    await writeVoucherBatch(pool, log, [legacyA]);
    const changed = receipt(m, "SO-H1:A", "1", "999");

    const result = await writeVoucherBatch(pool, log, [changed]);
    assert.deepEqual(result.inserted, {});
    assert.deepEqual(result.replayed, {}, "a conflict is counted as a conflict, not also as a replay");
    assert.equal(result.conflicts.length, 1);
    const [c] = result.conflicts;
    // the content as it would have been booked under the stored voucher's identity
    const incomingHash = contentHash({
      ...changed,
      voucherId: legacyA.voucherId,
      idempotencyKey: legacyA.idempotencyKey,
    });
    assert.equal(c?.key, legacyA.idempotencyKey, "recorded against the voucher that stands");
    assert.equal(c?.storedHash, contentHash(legacyA));
    assert.equal(c?.incomingHash, incomingHash);
    assert.deepEqual(c?.incoming, voucherJson(changed));
    assert.equal(c?.stored.voucherId, legacyA.voucherId);
    assert.equal(c?.stored.amount, "100000.7500");
    assert.deepEqual(await storedOf(m), [rowOf(legacyA)]);

    await writeVoucherBatch(pool, log, [changed]);
    assert.deepEqual(await conflictRows(legacyA.idempotencyKey), [
      { incoming_hash: incomingHash, stored_hash: contentHash(legacyA), occurrences: 2 },
    ]);
  });

  it("the staging path honours it too: a legacy replay in a batch with a conflict is neither inserted nor a conflict", async () => {
    const m = merchant("legacy-staging");
    const a = receipt(m, "SO-H1:A", "1");
    const legacyA = asBookedBeforeEscaping(a);
    const plain = receipt(m, "so-plain", "att-1");
    await writeVoucherBatch(pool, log, [legacyA, plain]);
    const fresh = receipt(m, "so-fresh:1", "att-1");
    const plainChanged = receipt(m, "so-plain", "att-1", "5");

    const result = await writeVoucherBatch(pool, log, [a, plainChanged, fresh, a]);
    assert.equal(result.via, "staging", "the conflicting copy sends the batch through staging");
    assert.deepEqual(result.inserted, { SALE_RECEIPT: 1 });
    assert.deepEqual(result.replayed, { SALE_RECEIPT: 2 });
    assert.deepEqual(
      result.conflicts.map((c) => [c.key, c.incoming]),
      [[plain.idempotencyKey, voucherJson(plainChanged)]],
    );
    assert.deepEqual(await storedOf(m), [rowOf(legacyA), rowOf(fresh), rowOf(plain)].sort(byKey));
  });

  it("a legacy-keyed copy and its escaped copy in one batch (the voucher topic's backlog of an older version) book once", async () => {
    const m = merchant("legacy-batch");
    const a = receipt(m, "SO-H1:A", "1");
    const legacyA = asBookedBeforeEscaping(a);
    const b = receipt(m, "SO-H1", "A:1");
    const result = await writeVoucherBatch(pool, log, [a, b, legacyA]);
    assert.deepEqual(result, {
      inserted: { SALE_RECEIPT: 2 },
      replayed: { SALE_RECEIPT: 1 },
      conflicts: [],
      via: "copy",
    });
    assert.deepEqual(
      await storedOf(m),
      [rowOf(legacyA), rowOf(b)].sort(byKey),
      "the legacy-keyed copy stands",
    );

    const c = receipt(m, "SO-H2:C", "1");
    const changed = receipt(m, "SO-H2:C", "1", "7");
    const second = await writeVoucherBatch(pool, log, [changed, asBookedBeforeEscaping(c)]);
    assert.deepEqual(second.inserted, { SALE_RECEIPT: 1 });
    assert.deepEqual(
      second.conflicts.map((x) => [x.key, x.incoming, x.stored.amount]),
      [[unescapedKey(c.idempotencyKey), voucherJson(changed), "100000.7500"]],
    );
    assert.deepEqual(await conflictRows(unescapedKey(c.idempotencyKey)), [
      {
        incoming_hash: contentHash({ ...changed, ...identityOf(asBookedBeforeEscaping(c)) }),
        stored_hash: contentHash(asBookedBeforeEscaping(c)),
        occurrences: 1,
      },
    ]);
  });

  it("a legacy voucher stored with the hash layout of an even older version is still a replay", async () => {
    const m = merchant("legacy-hash");
    const a = receipt(m, "SO-9:B", "x:y");
    const legacyA = asBookedBeforeEscaping(a);
    await writeVoucherBatch(pool, log, [legacyA]);
    // a hash without the layout prefix, which also covered occurredAt
    await pool.query("UPDATE finance.voucher SET content_hash = $2 WHERE voucher_id = $1", [
      legacyA.voucherId,
      "0".repeat(64),
    ]);
    const republished = {
      ...a,
      occurredAt: a.occurredAt + 60_000,
      origin: { ...a.origin, eventId: "evt-again" },
    };
    assert.deepEqual(await writeVoucherBatch(pool, log, [republished]), { ...onlyReplays(1), via: "copy" });
    const { rows } = await pool.query("SELECT content_hash FROM finance.voucher WHERE voucher_id = $1", [
      legacyA.voucherId,
    ]);
    assert.deepEqual(
      rows,
      [{ content_hash: contentHash(legacyA) }],
      "the stored hash is upgraded once compared",
    );
    assert.deepEqual(await storedOf(m), [rowOf(legacyA)]);
  });

  it("ids with % are recognised as well: merchant 50%:off, order 10%25", async () => {
    const m = `50%:off-${merchant("percent")}`;
    const a = receipt(m, "10%25", "att%3A1");
    assert.equal(
      a.idempotencyKey,
      `SALE_RECEIPT:50%25%3Aoff-${m.slice("50%:off-".length)}:SALE_ORDER:10%2525:att%253A1`,
    );
    const legacyA = asBookedBeforeEscaping(a);
    assert.equal(legacyA.idempotencyKey, `SALE_RECEIPT:${m}:SALE_ORDER:10%25:att%3A1`);
    await writeVoucherBatch(pool, log, [legacyA]);
    assert.deepEqual(await writeVoucherBatch(pool, log, [a]), { ...onlyReplays(1), via: "copy" });
    assert.deepEqual(await storedOf(m), [rowOf(legacyA)]);
  });

  it("a voucher stored under the legacy id for another merchant's document is not taken for this one", async () => {
    // merchant `m:SALE_ORDER:x`, order `o` and merchant `m`, order `x:SALE_ORDER:o` had one legacy key too
    const m = merchant("tenant");
    const mine = receipt(`${m}:SALE_ORDER:x`, "o", "1");
    const theirs = receipt(m, "x:SALE_ORDER:o", "1");
    assert.equal(unescapedKey(mine.idempotencyKey), unescapedKey(theirs.idempotencyKey));
    await writeVoucherBatch(pool, log, [asBookedBeforeEscaping(theirs)]);
    assert.deepEqual((await writeVoucherBatch(pool, log, [mine])).inserted, { SALE_RECEIPT: 1 });
    assert.deepEqual(await storedOf(`${m}:SALE_ORDER:x`), [rowOf(mine)]);
  });
});

/** `n` random characters of 4 UTF-8 bytes each (U+10000..U+10FFFF): random, so nothing compresses. */
function random4ByteId(n: number): string {
  return Array.from({ length: n }, () => String.fromCodePoint(randomInt(0x1_0000, 0x11_0000))).join("");
}

describe("every key validation lets through is storable", () => {
  it("books a receipt whose ids are 255 random 4-byte characters each, and records a conflict with it", async () => {
    const merchantId = random4ByteId(255);
    const saleOrderId = random4ByteId(255);
    const uid = random4ByteId(255);
    const event = paymentSucceeded({ merchantId, saleOrderId, attempts: [card(uid, "10")] });
    const [v] = postEvent(saleReceiptRule, event).vouchers; // validates the event first
    assert.ok(v);
    assert.deepEqual(voucherDefects(v), []);
    assert.ok(Buffer.byteLength(v.idempotencyKey) > 3_000, "past the ~2.7 kB a btree index row holds");

    assert.deepEqual(await writeVoucherBatch(pool, log, [v]), {
      inserted: { SALE_RECEIPT: 1 },
      replayed: {},
      conflicts: [],
      via: "copy",
    });
    const { rows } = await pool.query("SELECT voucher_id FROM finance.voucher WHERE idempotency_key = $1", [
      v.idempotencyKey,
    ]);
    assert.deepEqual(rows, [{ voucher_id: v.voucherId }], "found by its key");

    const changed = { ...v, reason: { en: "changed", vi: "đã đổi" } };
    const result = await writeVoucherBatch(pool, log, [changed, v]);
    assert.deepEqual(result.replayed, { SALE_RECEIPT: 1 });
    assert.equal(result.conflicts.length, 1);
    await writeVoucherBatch(pool, log, [changed]);
    assert.deepEqual(await conflictRows(v.idempotencyKey), [
      { incoming_hash: contentHash(changed), stored_hash: contentHash(v), occurrences: 2 },
    ]);
  });
});
