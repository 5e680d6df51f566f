import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { v5 as uuidv5 } from "uuid";
import { seededAccountsFor } from "../../src/domain/accounts.js";
import { accountsToPersist, applyCdc, type CdcRecord, commitTime } from "../../src/enrich/cdc.js";
import { resolveNow } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { seededAccountId } from "../../src/ids.js";
import { CDC_TOPICS } from "../../src/topics.js";
import {
  accountRow,
  CONNECTOR_LAG_MS,
  change,
  deletion,
  merchantRow,
  poRow,
  quiet,
  tombstone,
  vendorRow,
} from "../support/cdc-rows.js";

/** Source commit times, minutes apart; events are resolved at times between them. */
const T = (minute: number) => Date.UTC(2026, 0, 1) + minute * 60_000;
const LATER = T(1_000);

describe("CDC-materialized tables", () => {
  for (const op of ["c", "r"] as const) {
    it(`op ${op} of a merchant seeds its seven accounts with UUID v5 ids of "<merchantId>:<code>"`, () => {
      const t = new MaterializedTables();
      const out = applyCdc(t, change(CDC_TOPICS.merchant, op, merchantRow("m1"), T(1)), quiet);
      assert.equal(out.kind, "versioned");
      assert.deepEqual(out.kind === "versioned" ? out.seeded.map((a) => a.code) : [], [
        "CASH",
        "SALES_REVENUE",
        "INVENTORY",
        "COGS",
        "ACCOUNTS_PAYABLE",
        "INVENTORY_ADJUSTMENT",
        "CHANGE_CLEARING",
      ]);
      assert.equal(t.account(seededAccountId("m1", "CASH"), LATER)?.row.type, "MONEY");
      assert.equal(t.account(seededAccountId("m1", "SALES_REVENUE"), LATER)?.row.type, "CONTROL");
    });
  }

  it("seeds on an update of a merchant never seen; a repeated merchant row changes nothing", () => {
    const t = new MaterializedTables();
    const first = applyCdc(t, change(CDC_TOPICS.merchant, "u", merchantRow("m1"), T(1)), quiet);
    const again = applyCdc(
      t,
      change(CDC_TOPICS.merchant, "u", merchantRow("m1", { name: "Renamed" }), T(2)),
      quiet,
    );
    const resnapshot = applyCdc(t, change(CDC_TOPICS.merchant, "r", merchantRow("m1"), T(3)), quiet);
    assert.equal(first.kind === "versioned" && first.seeded.length, 7);
    // SPEC §5: the merchant's name is used by no voucher and no check, so it makes no version.
    assert.deepEqual(again, { kind: "unchanged" });
    assert.deepEqual(resnapshot, { kind: "unchanged" });
    assert.deepEqual(t.sizes.merchants, { entities: 1, versions: 1 });
  });

  it("a merchant's new book currency is a version, and seeds nothing again", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.merchant, "c", merchantRow("m1"), T(1)), quiet);
    const out = applyCdc(
      t,
      change(CDC_TOPICS.merchant, "u", merchantRow("m1", { currency: "USD" }), T(2)),
      quiet,
    );
    assert.deepEqual(out, { kind: "versioned", seeded: [], disowned: [] });
    assert.equal(t.merchant("m1", T(1))?.currency, "VND");
    assert.equal(t.merchant("m1", T(2))?.currency, "USD");
  });

  it("uses the UUID v5 namespace of the contract for seeded ids", () => {
    const independent = uuidv5("m1:CASH", "9526b67e-4f97-471f-a726-cbe031565fd9");
    assert.equal(seededAccountId("m1", "CASH"), independent);
    assert.equal(seededAccountsFor("m1")[0]?.id, independent);
    assert.match(
      seededAccountId("m1", "CASH"),
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("a version takes effect at the source commit time (source.ts_ms), not at the connector's ts_ms", () => {
    const rec = change(CDC_TOPICS.vendor, "c", vendorRow("v1", "m1", { name: "Acme" }), T(10));
    assert.equal(commitTime(rec.value as NonNullable<CdcRecord["value"]>), T(10));
    const t = new MaterializedTables();
    applyCdc(t, rec, quiet);
    applyCdc(t, change(CDC_TOPICS.vendor, "u", vendorRow("v1", "m1", { name: "Acme Group" }), T(20)), quiet);
    // Between the rename's commit and the connector's stamp, the new name is already in force.
    assert.equal(t.vendor("v1", T(20) + CONNECTOR_LAG_MS - 1)?.name, "Acme Group");
    assert.equal(t.vendor("v1", T(20) - 1)?.name, "Acme");
  });

  it("a delete closes the last version; the tombstone after it is only a marker", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.vendor, "c", vendorRow("v1", "m1", { name: "Acme" }), T(1)), quiet);
    assert.equal(t.vendor("v1", T(2))?.name, "Acme");
    assert.equal(applyCdc(t, deletion(CDC_TOPICS.vendor, "v1", T(3)), quiet).kind, "versioned");
    assert.equal(t.vendor("v1", T(3)), undefined, "an event at or after the delete finds nothing");
    assert.equal(t.vendor("v1", T(2))?.name, "Acme", "an event before the delete still finds the vendor");
    assert.deepEqual(applyCdc(t, tombstone(CDC_TOPICS.vendor, "v1"), quiet), {
      kind: "ignored",
      why: "tombstone",
    });
    assert.equal(t.vendor("v1", T(2))?.name, "Acme");
    assert.deepEqual(t.sizes.vendors, { entities: 1, versions: 2 });
  });

  it("a delete of an entity never seen, and a second delete, change nothing", () => {
    const t = new MaterializedTables();
    assert.deepEqual(applyCdc(t, deletion(CDC_TOPICS.vendor, "v9", T(1)), quiet), { kind: "unchanged" });
    applyCdc(t, change(CDC_TOPICS.vendor, "c", vendorRow("v1", "m1"), T(1)), quiet);
    applyCdc(t, deletion(CDC_TOPICS.vendor, "v1", T(2)), quiet);
    assert.deepEqual(applyCdc(t, deletion(CDC_TOPICS.vendor, "v1", T(3)), quiet), { kind: "unchanged" });
    assert.equal(t.vendor("v9", LATER), undefined);
  });

  it("a delete without a key takes the id from `before`", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.vendor, "c", vendorRow("v1", "m1"), T(1)), quiet);
    const del = deletion(CDC_TOPICS.vendor, "v1", T(2), vendorRow("v1", "m1"));
    assert.equal(applyCdc(t, { ...del, key: null }, quiet).kind, "versioned");
    assert.equal(t.vendor("v1", T(3)), undefined);
  });

  it("a truncate is logged and ignored: finance keeps the rows", () => {
    const t = new MaterializedTables();
    applyCdc(
      t,
      change(CDC_TOPICS.purchaseOrder, "r", poRow("po1", "m1", "v1", { code: "PO-1" }), T(1)),
      quiet,
    );
    const out = applyCdc(
      t,
      {
        topic: CDC_TOPICS.purchaseOrder,
        key: null,
        value: { before: null, after: null, op: "t", source: { ts_ms: T(2) } },
      },
      quiet,
    );
    assert.deepEqual(out, { kind: "ignored", why: "truncate" });
    assert.equal(t.purchaseOrder("po1", LATER)?.code, "PO-1");
  });

  it("takes columns added later in stride and applies an update without `before`", () => {
    const t = new MaterializedTables();
    applyCdc(
      t,
      change(CDC_TOPICS.financeAccount, "c", accountRow("a1", "m1", { code: "BANK_1" }), T(1)),
      quiet,
    );
    const renamed = applyCdc(
      t,
      change(CDC_TOPICS.financeAccount, "u", accountRow("a1", "m1", { code: "BANK_1", iban: "X" }), T(2)),
      quiet,
    );
    const recoded = applyCdc(
      t,
      change(CDC_TOPICS.financeAccount, "u", accountRow("a1", "m1", { code: "BANK_2", iban: "X" }), T(3)),
      quiet,
    );
    assert.deepEqual(renamed, { kind: "unchanged" }, "a column nobody reads makes no version");
    assert.equal(recoded.kind, "versioned");
    assert.equal(t.account("a1", T(2))?.row.code, "BANK_1");
    assert.equal(t.account("a1", T(3))?.row.code, "BANK_2");
  });

  it("a CDC account reusing a seeded control code never displaces the seeded one", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.merchant, "r", merchantRow("m1"), T(1)), quiet);
    applyCdc(
      t,
      change(
        CDC_TOPICS.financeAccount,
        "c",
        accountRow("x", "m1", { code: "SALES_REVENUE", type: "CONTROL" }),
        T(2),
      ),
      quiet,
    );
    const ctx = resolveNow(
      t,
      { merchantId: "m1", occurredAt: T(3), currency: "VND" },
      { accountIds: [], controlCodes: ["SALES_REVENUE"], purchaseOrderId: null },
    );
    assert.equal(ctx.control.get("SALES_REVENUE")?.id, seededAccountId("m1", "SALES_REVENUE"));
  });

  it("a merchant delete keeps its seeded accounts, which old events may still reference", () => {
    const t = new MaterializedTables();
    applyCdc(t, change(CDC_TOPICS.merchant, "r", merchantRow("m1"), T(1)), quiet);
    applyCdc(t, deletion(CDC_TOPICS.merchant, "m1", T(5)), quiet);
    applyCdc(t, tombstone(CDC_TOPICS.merchant, "m1"), quiet);
    assert.equal(t.merchant("m1", T(5)), undefined);
    assert.equal(t.merchant("m1", T(4))?.currency, "VND");
    assert.ok(t.account(seededAccountId("m1", "COGS"), T(4)));
    assert.ok(t.account(seededAccountId("m1", "COGS"), LATER));
    assert.equal(t.seededAccountId("m1", "COGS"), seededAccountId("m1", "COGS"));
  });

  it("a malformed row is refused, not half-applied", () => {
    const t = new MaterializedTables();
    assert.throws(
      () => applyCdc(t, change(CDC_TOPICS.vendor, "c", { id: "v1", merchant_id: 7 }, T(1)), quiet),
      TypeError,
    );
    assert.equal(t.vendor("v1", LATER), undefined);
    assert.deepEqual(t.sizes.vendors, { entities: 0, versions: 0 });
  });

  it("tells the sink which accounts to persist: seeded ones for merchants, the row for accounts", () => {
    assert.equal(accountsToPersist(change(CDC_TOPICS.merchant, "r", merchantRow("m1"), T(1))).length, 7);
    assert.deepEqual(
      accountsToPersist(change(CDC_TOPICS.financeAccount, "c", accountRow("a1", "m1"), T(1))).map(
        (a) => a.id,
      ),
      ["a1"],
    );
    assert.deepEqual(accountsToPersist(tombstone(CDC_TOPICS.merchant, "m1")), []);
    assert.deepEqual(accountsToPersist(deletion(CDC_TOPICS.financeAccount, "a1", T(2))), []);
    assert.deepEqual(accountsToPersist(change(CDC_TOPICS.vendor, "c", vendorRow("v", "m"), T(1))), []);
    assert.deepEqual(
      accountsToPersist(
        change(CDC_TOPICS.financeAccount, "c", accountRow("a2", "m1", { type: "LIABILITY" }), T(1)),
      ),
      [],
      "an account refused for its type is not persisted",
    );
  });
});
