import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Account } from "../../src/domain/accounts.js";
import type { Needs } from "../../src/domain/context.js";
import { type ResolvableEvent, resolveNow, resolveWithin } from "../../src/enrich/resolve.js";
import { MaterializedTables, type MerchantRow } from "../../src/enrich/tables.js";
import type { Version } from "../../src/enrich/versions.js";
import { CrossTenantError, InvalidPayloadError, UnresolvedError } from "../../src/errors.js";
import { seededAccountId } from "../../src/ids.js";

const merchant = (id: string) => ({ id, name: id, currency: "VND", status: "ACTIVE" });
/** Reference data committed at T0; events occur an hour later, with the merchant's currency. */
const T0 = Date.UTC(2026, 0, 1);
const AT = T0 + 3_600_000;
const at = <Row>(row: Row, when = T0): Version<Row> => ({ at: when, snapshot: false, row });
const event = (merchantId: string, occurredAt = AT): ResolvableEvent => ({
  merchantId,
  occurredAt,
  currency: "VND",
});
const putMerchant = (t: MaterializedTables, row: MerchantRow) => t.putMerchant(row.id, at(row));
const putAccount = (t: MaterializedTables, row: Account) => t.putAccount(row.id, at(row));
const needs = (n: Partial<Needs>): Needs => ({
  accountIds: [],
  controlCodes: [],
  purchaseOrderId: null,
  ...n,
});

function tables() {
  const t = new MaterializedTables();
  putMerchant(t, merchant("m1"));
  putMerchant(t, merchant("m2"));
  putAccount(t, {
    id: "bank",
    merchantId: "m1",
    code: "BANK_1",
    name: { en: "Bank", vi: "Bank" },
    type: "MONEY",
    status: "ACTIVE",
  });
  t.putVendor("v1", at({ id: "v1", merchantId: "m1", name: "Acme" }));
  t.putVendor("v2", at({ id: "v2", merchantId: "m2", name: "Other" }));
  t.putPurchaseOrder("po1", at({ id: "po1", merchantId: "m1", code: "PO-1", vendorId: "v1" }));
  t.putPurchaseOrder(
    "po-bad-vendor",
    at({ id: "po-bad-vendor", merchantId: "m1", code: "PO-2", vendorId: "v2" }),
  );
  return t;
}

describe("resolution against the materialized tables", () => {
  it("resolves money accounts, control accounts, the purchase order and its vendor", () => {
    const ctx = resolveNow(
      tables(),
      event("m1"),
      needs({
        accountIds: ["bank", seededAccountId("m1", "CASH")],
        controlCodes: ["INVENTORY"],
        purchaseOrderId: "po1",
      }),
    );
    assert.equal(ctx.accounts.get("bank")?.code, "BANK_1");
    assert.equal(ctx.control.get("INVENTORY")?.id, seededAccountId("m1", "INVENTORY"));
    assert.equal(ctx.purchaseOrder?.code, "PO-1");
    assert.equal(ctx.vendor?.name, "Acme");
  });

  const crossTenant: [string, Needs][] = [
    ["another merchant's money account", needs({ accountIds: ["bank"] })],
    ["another merchant's purchase order", needs({ purchaseOrderId: "po1" })],
  ];
  for (const [what, n] of crossTenant) {
    it(`rejects ${what} as CROSS_TENANT`, () => {
      assert.throws(() => resolveNow(tables(), event("m2"), n), CrossTenantError);
    });
  }

  it("rejects a purchase order whose vendor belongs to another merchant as CROSS_TENANT", () => {
    assert.throws(
      () => resolveNow(tables(), event("m1"), needs({ purchaseOrderId: "po-bad-vendor" })),
      CrossTenantError,
    );
  });

  it("refuses a control account used as a money account", () => {
    const t = tables();
    assert.throws(
      () => resolveNow(t, event("m1"), needs({ accountIds: [seededAccountId("m1", "COGS")] })),
      InvalidPayloadError,
    );
  });

  const missing: [string, Needs][] = [
    ["an unknown account", needs({ accountIds: ["nope"] })],
    ["an unknown purchase order", needs({ purchaseOrderId: "nope" })],
  ];
  for (const [what, n] of missing) {
    it(`reports ${what} as UNRESOLVED`, () => {
      assert.throws(() => resolveNow(tables(), event("m1"), n), UnresolvedError);
    });
  }

  it("reports control accounts of a merchant never seen as UNRESOLVED", () => {
    assert.throws(
      () => resolveNow(tables(), event("m9"), needs({ controlCodes: ["COGS"] })),
      UnresolvedError,
    );
  });

  it("waits for CDC to catch up when a reference is missing", async () => {
    const t = tables();
    setTimeout(() => putMerchant(t, merchant("m3")), 60);
    const ctx = await resolveWithin(t, event("m3"), needs({ controlCodes: ["COGS"] }), { timeoutMs: 5_000 });
    assert.equal(ctx.control.get("COGS")?.id, seededAccountId("m3", "COGS"));
  });

  it("gives up with UNRESOLVED after the timeout, heartbeating while it waits", async () => {
    let beats = 0;
    const started = Date.now();
    await assert.rejects(
      resolveWithin(tables(), event("m9"), needs({ controlCodes: ["COGS"] }), {
        timeoutMs: 150,
        onWait: async () => {
          beats++;
        },
      }),
      UnresolvedError,
    );
    assert.ok(Date.now() - started >= 140);
    assert.ok(beats >= 2);
  });

  it("does not wait on a cross-tenant reference: it will not fix itself", async () => {
    const started = Date.now();
    await assert.rejects(
      resolveWithin(tables(), event("m2"), needs({ accountIds: ["bank"] }), { timeoutMs: 5_000 }),
      CrossTenantError,
    );
    assert.ok(Date.now() - started < 1_000);
  });

  it("never resolves a control account from another row carrying its code, whatever the arrival order", () => {
    const impostor = {
      id: "cdc-cogs",
      merchantId: "m3",
      code: "COGS",
      name: { en: "COGS", vi: "COGS" },
      type: "CONTROL" as const,
      status: "ACTIVE",
    };
    const before = new MaterializedTables();
    putAccount(before, impostor);
    // The merchant has not arrived: nothing to resolve yet, not the impostor.
    assert.throws(() => resolveNow(before, event("m3"), needs({ controlCodes: ["COGS"] })), UnresolvedError);
    putMerchant(before, merchant("m3"));
    const after = new MaterializedTables();
    putMerchant(after, merchant("m3"));
    putAccount(after, impostor);
    for (const t of [before, after]) {
      const ctx = resolveNow(t, event("m3"), needs({ controlCodes: ["COGS"] }));
      assert.equal(ctx.control.get("COGS")?.id, seededAccountId("m3", "COGS"));
    }
  });

  const controlRow = (o: Partial<{ merchantId: string; type: "MONEY" | "CONTROL"; status: string }>) => ({
    id: seededAccountId("m1", "INVENTORY"),
    merchantId: "m1",
    code: "INVENTORY",
    name: { en: "Inventory", vi: "Hàng tồn kho" },
    type: "CONTROL" as const,
    status: "ACTIVE",
    ...o,
  });
  const contradicted: [string, ReturnType<typeof controlRow>, new (m: string) => Error][] = [
    ["turned into a money account", controlRow({ type: "MONEY" }), InvalidPayloadError],
    ["archived", controlRow({ status: "ARCHIVED" }), InvalidPayloadError],
  ];
  for (const [what, row, error] of contradicted) {
    it(`checks a control account like any other: one ${what} by a row in force at the event is not used`, () => {
      for (const merchantFirst of [true, false]) {
        const t = new MaterializedTables();
        if (merchantFirst) putMerchant(t, merchant("m1"));
        putAccount(t, row);
        if (!merchantFirst) putMerchant(t, merchant("m1"));
        assert.throws(() => resolveNow(t, event("m1"), needs({ controlCodes: ["INVENTORY"] })), error);
      }
    });
  }

  // SPEC §5 "Owners never change": a seeded account is owned by derivation; a row naming another
  // owner is refused, so the control account stays the merchant's (it used to be CROSS_TENANT).
  it("keeps a control account its merchant's when a row would move it to another merchant, in either order", () => {
    for (const merchantFirst of [true, false]) {
      const t = new MaterializedTables();
      if (merchantFirst) putMerchant(t, merchant("m1"));
      putAccount(t, controlRow({ merchantId: "m2" }));
      if (!merchantFirst) putMerchant(t, merchant("m1"));
      putMerchant(t, merchant("m2"));
      const ctx = resolveNow(t, event("m1"), needs({ controlCodes: ["INVENTORY"] }));
      assert.equal(ctx.control.get("INVENTORY")?.merchantId, "m1");
      assert.throws(
        () => resolveNow(t, event("m2"), needs({ accountIds: [seededAccountId("m1", "INVENTORY")] })),
        CrossTenantError,
      );
    }
  });

  it("refuses a money account archived before the event, and uses it for an event before the archive", () => {
    const t = tables();
    const bank = t.account("bank", AT)?.row as Account;
    t.putAccount("bank", at({ ...bank, status: "ARCHIVED" }, AT - 1));
    assert.throws(() => resolveNow(t, event("m1"), needs({ accountIds: ["bank"] })), InvalidPayloadError);
    assert.equal(
      resolveNow(t, event("m1", AT - 2), needs({ accountIds: ["bank"] })).accounts.get("bank")?.status,
      "ACTIVE",
    );
  });

  // SPEC §5: a reference to another merchant's entity is CROSS_TENANT whatever else is wrong.
  const precedence: [string, Needs, new (m: string) => Error][] = [
    [
      "[unknown account, other merchant's CASH]",
      needs({ accountIds: ["nope", seededAccountId("m1", "CASH")] }),
      CrossTenantError,
    ],
    [
      "[own SALES_REVENUE as money, other merchant's CASH]",
      needs({ accountIds: [seededAccountId("m2", "SALES_REVENUE"), seededAccountId("m1", "CASH")] }),
      CrossTenantError,
    ],
    [
      "[unknown purchase order, other merchant's account]",
      needs({ accountIds: ["bank"], purchaseOrderId: "nope" }),
      CrossTenantError,
    ],
    [
      "[unknown account, own control account as money]",
      needs({ accountIds: ["nope", seededAccountId("m2", "COGS")] }),
      InvalidPayloadError,
    ],
  ];
  for (const [refs, n, error] of precedence) {
    it(`names the worst problem of ${refs}: ${error.name}`, () => {
      assert.throws(() => resolveNow(tables(), event("m2"), n), error);
    });
  }

  it("does not wait when an event is already known to be cross-tenant, even with a reference missing", async () => {
    const started = Date.now();
    await assert.rejects(
      resolveWithin(tables(), event("m2"), needs({ accountIds: ["nope", "bank"] }), { timeoutMs: 5_000 }),
      CrossTenantError,
    );
    assert.ok(Date.now() - started < 1_000);
  });
});
