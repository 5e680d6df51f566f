import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { seededAccountsFor } from "../../src/domain/accounts.js";
import { accountsToPersist, applyCdc, type CdcRecord } from "../../src/enrich/cdc.js";
import { resolveNow } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { seededAccountId } from "../../src/ids.js";
import { CDC_TOPICS } from "../../src/topics.js";

const quiet = pino({ level: "silent" });
const merchantRow = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Shop ${id}`,
  currency: "VND",
  status: "ACTIVE",
  created_at: null,
  ...extra,
});
const change = (
  topic: CdcRecord["topic"],
  op: string,
  after: Record<string, unknown> | null,
  id?: string,
): CdcRecord => ({
  topic,
  key: { id: id ?? String(after?.id) },
  value: { before: null, after, op, ts_ms: 1 },
});
const tombstone = (topic: CdcRecord["topic"], id: string): CdcRecord => ({ topic, key: { id }, value: null });
const account = (id: string, merchantId: string, code: string | null = null, type = "MONEY") => ({
  id,
  merchant_id: merchantId,
  code,
  name: `Account ${id}`,
  type,
  status: "ACTIVE",
});

describe("CDC-materialized tables", () => {
  for (const op of ["c", "r"]) {
    it(`op ${op} of a merchant seeds its seven accounts with UUID v5 ids of "<merchantId>:<code>"`, () => {
      const t = new MaterializedTables();
      const out = applyCdc(t, change(CDC_TOPICS.merchant, op, merchantRow("m1")), quiet);
      assert.equal(out.kind, "upserted");
      assert.deepEqual(out.kind === "upserted" ? out.seeded.map((a) => a.code) : [], [
        "CASH",
        "SALES_REVENUE",
        "INVENTORY",
        "COGS",
        "ACCOUNTS_PAYABLE",
        "INVENTORY_ADJUSTMENT",
        "CHANGE_CLEARING",
      ]);
      assert.equal(t.account(seededAccountId("m1", "CASH"))?.type, "MONEY");
      assert.equal(t.account(seededAccountId("m1", "SALES_REVENUE"))?.type, "CONTROL");
    });
  }

  it("seeds on an update of a merchant never seen, and re-seeding is a no-op", () => {
    const t = new MaterializedTables();
    const first = applyCdc(t, change(CDC_TOPICS.merchant, "u", merchantRow("m1")), quiet);
    const again = applyCdc(
      t,
      change(CDC_TOPICS.merchant, "u", merchantRow("m1", { name: "Renamed" })),
      quiet,
    );
    assert.equal(first.kind === "upserted" && first.seeded.length, 7);
    assert.deepEqual(again, { kind: "upserted", seeded: [] });
    assert.equal(t.merchant("m1")?.name, "Renamed");
  });

  it("uses the UUID v5 namespace of the contract for seeded ids", () => {
    // uuid5(9526b67e-4f97-471f-a726-cbe031565fd9, "m1:CASH"), computed independently.
    assert.equal(seededAccountId("m1", "CASH"), seededAccountsFor("m1")[0]?.id);
    assert.match(
      seededAccountId("m1", "CASH"),
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("a delete removes the row, and the tombstone after it is harmless", () => {
    const t = new MaterializedTables();
    applyCdc(
      t,
      change(CDC_TOPICS.vendor, "c", { id: "v1", merchant_id: "m1", name: "Acme", status: "ACTIVE" }),
      quiet,
    );
    assert.equal(t.vendor("v1")?.name, "Acme");
    const del: CdcRecord = {
      topic: CDC_TOPICS.vendor,
      key: { id: "v1" },
      value: { before: null, after: null, op: "d", ts_ms: 2 },
    };
    assert.equal(applyCdc(t, del, quiet).kind, "deleted");
    assert.equal(t.vendor("v1"), undefined);
    assert.equal(applyCdc(t, tombstone(CDC_TOPICS.vendor, "v1"), quiet).kind, "deleted");
  });

  it("a truncate is logged and ignored: finance keeps the rows", () => {
    const t = new MaterializedTables();
    applyCdc(
      t,
      change(CDC_TOPICS.purchaseOrder, "r", {
        id: "po1",
        merchant_id: "m1",
        code: "PO-1",
        vendor_id: "v1",
        status: "OPEN",
      }),
      quiet,
    );
    const out = applyCdc(
      t,
      { topic: CDC_TOPICS.purchaseOrder, key: null, value: { before: null, after: null, op: "t" } },
      quiet,
    );
    assert.deepEqual(out, { kind: "ignored", why: "truncate" });
    assert.equal(t.purchaseOrder("po1")?.code, "PO-1");
  });

  it("takes columns added later in stride and applies an update without `before`", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.financeAccount, "c", account("a1", "m1", "BANK_1")), quiet);
    applyCdc(
      t,
      change(CDC_TOPICS.financeAccount, "u", { ...account("a1", "m1", "BANK_1"), name: "Bank", iban: "X" }),
      quiet,
    );
    assert.equal(t.account("a1")?.name.en, "Bank");
  });

  it("a CDC account reusing a seeded control code never displaces the seeded one", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.merchant, "r", merchantRow("m1")), quiet);
    applyCdc(
      t,
      change(CDC_TOPICS.financeAccount, "c", account("x", "m1", "SALES_REVENUE", "CONTROL")),
      quiet,
    );
    const ctx = resolveNow(t, "m1", {
      accountIds: [],
      controlCodes: ["SALES_REVENUE"],
      purchaseOrderId: null,
    });
    assert.equal(ctx.control.get("SALES_REVENUE")?.id, seededAccountId("m1", "SALES_REVENUE"));
  });

  it("a merchant delete keeps its seeded accounts, which old events may still reference", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.merchant, "r", merchantRow("m1")), quiet);
    applyCdc(t, tombstone(CDC_TOPICS.merchant, "m1"), quiet);
    assert.equal(t.merchant("m1"), undefined);
    assert.ok(t.account(seededAccountId("m1", "COGS")));
  });

  it("a malformed row is refused, not half-applied", () => {
    const t = new MaterializedTables();
    assert.throws(
      () => applyCdc(t, change(CDC_TOPICS.vendor, "c", { id: "v1", merchant_id: 7 }), quiet),
      TypeError,
    );
    assert.equal(t.vendor("v1"), undefined);
  });

  it("tells the sink which accounts to persist: seeded ones for merchants, the row for accounts", () => {
    assert.equal(accountsToPersist(change(CDC_TOPICS.merchant, "r", merchantRow("m1"))).length, 7);
    assert.deepEqual(
      accountsToPersist(change(CDC_TOPICS.financeAccount, "c", account("a1", "m1"))).map((a) => a.id),
      ["a1"],
    );
    assert.deepEqual(accountsToPersist(tombstone(CDC_TOPICS.merchant, "m1")), []);
    assert.deepEqual(
      accountsToPersist(
        change(CDC_TOPICS.vendor, "c", { id: "v", merchant_id: "m", name: "n", status: "s" }),
      ),
      [],
    );
  });
});
