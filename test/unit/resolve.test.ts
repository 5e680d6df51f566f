import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Account } from "../../src/domain/accounts.js";
import type { Needs } from "../../src/domain/context.js";
import { resolveNow, resolveWithin } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { CrossTenantError, InvalidPayloadError, UnresolvedError } from "../../src/errors.js";
import { seededAccountId } from "../../src/ids.js";

const merchant = (id: string) => ({ id, name: id, currency: "VND", status: "ACTIVE" });
const needs = (n: Partial<Needs>): Needs => ({
  accountIds: [],
  controlCodes: [],
  purchaseOrderId: null,
  ...n,
});

function tables() {
  const t = new MaterializedTables();
  t.upsertMerchant(merchant("m1"));
  t.upsertMerchant(merchant("m2"));
  t.upsertAccount({
    id: "bank",
    merchantId: "m1",
    code: "BANK_1",
    name: { en: "Bank", vi: "Bank" },
    type: "MONEY",
    status: "ACTIVE",
  });
  t.upsertVendor({ id: "v1", merchantId: "m1", name: "Acme" });
  t.upsertVendor({ id: "v2", merchantId: "m2", name: "Other" });
  t.upsertPurchaseOrder({ id: "po1", merchantId: "m1", code: "PO-1", vendorId: "v1" });
  t.upsertPurchaseOrder({ id: "po-bad-vendor", merchantId: "m1", code: "PO-2", vendorId: "v2" });
  return t;
}

describe("resolution against the materialized tables", () => {
  it("resolves money accounts, control accounts, the purchase order and its vendor", () => {
    const ctx = resolveNow(
      tables(),
      "m1",
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
      assert.throws(() => resolveNow(tables(), "m2", n), CrossTenantError);
    });
  }

  it("rejects a purchase order whose vendor belongs to another merchant as CROSS_TENANT", () => {
    assert.throws(
      () => resolveNow(tables(), "m1", needs({ purchaseOrderId: "po-bad-vendor" })),
      CrossTenantError,
    );
  });

  it("refuses a control account used as a money account", () => {
    const t = tables();
    assert.throws(
      () => resolveNow(t, "m1", needs({ accountIds: [seededAccountId("m1", "COGS")] })),
      InvalidPayloadError,
    );
  });

  const missing: [string, Needs][] = [
    ["an unknown account", needs({ accountIds: ["nope"] })],
    ["an unknown purchase order", needs({ purchaseOrderId: "nope" })],
  ];
  for (const [what, n] of missing) {
    it(`reports ${what} as UNRESOLVED`, () => {
      assert.throws(() => resolveNow(tables(), "m1", n), UnresolvedError);
    });
  }

  it("reports control accounts of a merchant never seen as UNRESOLVED", () => {
    assert.throws(() => resolveNow(tables(), "m9", needs({ controlCodes: ["COGS"] })), UnresolvedError);
  });

  it("waits for CDC to catch up when a reference is missing", async () => {
    const t = tables();
    setTimeout(() => t.upsertMerchant(merchant("m3")), 60);
    const ctx = await resolveWithin(t, "m3", needs({ controlCodes: ["COGS"] }), { timeoutMs: 5_000 });
    assert.equal(ctx.control.get("COGS")?.id, seededAccountId("m3", "COGS"));
  });

  it("gives up with UNRESOLVED after the timeout, heartbeating while it waits", async () => {
    let beats = 0;
    const started = Date.now();
    await assert.rejects(
      resolveWithin(tables(), "m9", needs({ controlCodes: ["COGS"] }), {
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
      resolveWithin(tables(), "m2", needs({ accountIds: ["bank"] }), { timeoutMs: 5_000 }),
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
    before.upsertAccount(impostor);
    // The merchant has not arrived: nothing to resolve yet, not the impostor.
    assert.throws(() => resolveNow(before, "m3", needs({ controlCodes: ["COGS"] })), UnresolvedError);
    before.upsertMerchant(merchant("m3"));
    const after = new MaterializedTables();
    after.upsertMerchant(merchant("m3"));
    after.upsertAccount(impostor);
    for (const t of [before, after]) {
      const ctx = resolveNow(t, "m3", needs({ controlCodes: ["COGS"] }));
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
    ["moved to another merchant", controlRow({ merchantId: "m2" }), CrossTenantError],
    ["turned into a money account", controlRow({ type: "MONEY" }), InvalidPayloadError],
    ["archived", controlRow({ status: "ARCHIVED" }), InvalidPayloadError],
  ];
  for (const [what, row, error] of contradicted) {
    it(`checks a control account like any other: one ${what} by its latest row is not used`, () => {
      for (const merchantFirst of [true, false]) {
        const t = new MaterializedTables();
        if (merchantFirst) t.upsertMerchant(merchant("m1"));
        t.upsertAccount(row);
        if (!merchantFirst) t.upsertMerchant(merchant("m1"));
        assert.throws(() => resolveNow(t, "m1", needs({ controlCodes: ["INVENTORY"] })), error);
      }
    });
  }

  it("refuses an archived money account", () => {
    const t = tables();
    t.upsertAccount({ ...(t.account("bank") as Account), status: "ARCHIVED" });
    assert.throws(() => resolveNow(t, "m1", needs({ accountIds: ["bank"] })), InvalidPayloadError);
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
      assert.throws(() => resolveNow(tables(), "m2", n), error);
    });
  }

  it("does not wait when an event is already known to be cross-tenant, even with a reference missing", async () => {
    const started = Date.now();
    await assert.rejects(
      resolveWithin(tables(), "m2", needs({ accountIds: ["nope", "bank"] }), { timeoutMs: 5_000 }),
      CrossTenantError,
    );
    assert.ok(Date.now() - started < 1_000);
  });
});
