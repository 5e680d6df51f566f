import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ControlCode } from "../../src/domain/accounts.js";
import type { Needs, ResolvedContext } from "../../src/domain/context.js";
import type { CdcOutcome, CdcRecord } from "../../src/enrich/cdc.js";
import { type ResolvableEvent, resolveNow } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { PostingError } from "../../src/errors.js";
import { seededAccountId } from "../../src/ids.js";
import { purchasePaymentRule } from "../../src/rules/purchase-payment.js";
import { CDC_TOPICS, type CdcTopic } from "../../src/topics.js";
import {
  account,
  accountRow,
  applyAll,
  deletion,
  merchant,
  merchantRow,
  poRow,
  purchaseOrder,
  tombstone,
  vendor,
  vendorRow,
} from "../support/cdc-rows.js";
import { ORIGIN, purchaseReceived } from "./fixtures/rules.js";

/**
 * SPEC §5 "Time" and "Owners never change", one block per sentence: an event is resolved against
 * the reference data as it was when the event occurred. Times are minutes after an epoch; an
 * event at minute n is compared with source commit times (`source.ts_ms`) as they are.
 */
const EPOCH = Date.UTC(2026, 0, 1);
const T = (minute: number) => EPOCH + minute * 60_000;
const M = "m-1";
const OTHER = "m-2";
const CASH = seededAccountId(M, "CASH");

/** Both merchants, created at minute 0 with book currency VND. */
const WORLD: CdcRecord[] = [merchant("c", merchantRow(M), T(0)), merchant("c", merchantRow(OTHER), T(0))];

const tablesOf = (...records: CdcRecord[]) => {
  const t = new MaterializedTables();
  applyAll(t, [...WORLD, ...records]);
  return t;
};

const event = (minute: number, merchantId = M, currency = "VND"): ResolvableEvent => ({
  merchantId,
  occurredAt: T(minute),
  currency,
});
const needs = (n: Partial<Needs>): Needs => ({
  accountIds: [],
  controlCodes: [],
  purchaseOrderId: null,
  ...n,
});
const needsAccount = (id: string) => needs({ accountIds: [id] });
const needsControl = (code: ControlCode) => needs({ controlCodes: [code] });
const needsPo = (id: string) => needs({ purchaseOrderId: id });

/** What resolution gives: a summary of the context, or the dead-letter reason. */
function outcome(
  t: MaterializedTables,
  e: ResolvableEvent,
  n: Needs,
  show: (ctx: ResolvedContext) => string = () => "ok",
): string {
  try {
    return show(resolveNow(t, e, n));
  } catch (err) {
    if (err instanceof PostingError) return err.reason;
    throw err;
  }
}

const vendorName = (ctx: ResolvedContext) => ctx.vendor?.name ?? "-";
const poCode = (ctx: ResolvedContext) => ctx.purchaseOrder?.code ?? "-";
const poAndVendor = (ctx: ResolvedContext) => `${poCode(ctx)} ${vendorName(ctx)}`;
const accountCode = (id: string) => (ctx: ResolvedContext) => ctx.accounts.get(id)?.code ?? "-";
const accountStatus = (id: string) => (ctx: ResolvedContext) => ctx.accounts.get(id)?.status ?? "-";

/** One history, one kind of lookup, and what an event at each minute resolves to. */
interface Timeline {
  name: string;
  history: CdcRecord[];
  needs: Needs;
  show?: (ctx: ResolvedContext) => string;
  /** [event minute, expected] or [event minute, merchant, expected]. */
  expect: ([number, string] | [number, string, string])[];
}

function timelines(cases: readonly Timeline[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const t = tablesOf(...c.history);
      const got = c.expect.map((e) => {
        const [minute, merchantId, _] = e.length === 3 ? e : [e[0], M, e[1]];
        return [minute, outcome(t, event(minute, merchantId), c.needs, c.show)];
      });
      assert.deepEqual(
        got,
        c.expect.map((e) => [e[0], e.at(-1)]),
      );
    });
  }
}

/** A purchase order of M created at minute 1 for vendor v-1, itself created at minute 1. */
const PO_OF_M = purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(1));
const VENDOR_OF_M = vendor("c", vendorRow("v-1", M, { name: "Acme" }), T(1));

describe("SPEC §5 Time: a lookup returns the version in force at the event's occurredAt", () => {
  timelines([
    {
      name: "vendor name: before the known history (first known version), at, between and after versions",
      history: [
        PO_OF_M,
        vendor("c", vendorRow("v-1", M, { name: "Acme" }), T(10)),
        vendor("u", vendorRow("v-1", M, { name: "Acme Ltd" }), T(20)),
        vendor("u", vendorRow("v-1", M, { name: "Acme Group" }), T(30)),
      ],
      needs: needsPo("po-1"),
      show: vendorName,
      expect: [
        [2, "Acme"],
        [10, "Acme"],
        [15, "Acme"],
        [20, "Acme Ltd"],
        [29, "Acme Ltd"],
        [30, "Acme Group"],
        [999, "Acme Group"],
      ],
    },
    {
      name: "purchase-order code",
      history: [
        VENDOR_OF_M,
        purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(10)),
        purchaseOrder("u", poRow("po-1", M, "v-1", { code: "PO-1-R" }), T(20)),
      ],
      needs: needsPo("po-1"),
      show: poCode,
      expect: [
        [5, "PO-1"],
        [15, "PO-1"],
        [20, "PO-1-R"],
        [25, "PO-1-R"],
      ],
    },
    {
      name: "purchase order's vendor, and that vendor's name as of the same time",
      history: [
        VENDOR_OF_M,
        vendor("c", vendorRow("v-2", M, { name: "Beta" }), T(1)),
        vendor("u", vendorRow("v-2", M, { name: "Beta Co" }), T(25)),
        purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(10)),
        purchaseOrder("u", poRow("po-1", M, "v-2", { code: "PO-1" }), T(20)),
      ],
      needs: needsPo("po-1"),
      show: poAndVendor,
      expect: [
        [15, "PO-1 Acme"],
        [20, "PO-1 Beta"],
        [25, "PO-1 Beta Co"],
      ],
    },
    {
      name: "account code",
      history: [
        account("c", accountRow("bank", M, { code: "BANK_1" }), T(10)),
        account("u", accountRow("bank", M, { code: "BANK_2" }), T(20)),
      ],
      needs: needsAccount("bank"),
      show: accountCode("bank"),
      expect: [
        [5, "BANK_1"],
        [19, "BANK_1"],
        [20, "BANK_2"],
      ],
    },
    {
      name: "account status: archived, then active again",
      history: [
        account("c", accountRow("bank", M), T(10)),
        account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(20)),
        account("u", accountRow("bank", M, { status: "ACTIVE" }), T(30)),
      ],
      needs: needsAccount("bank"),
      show: accountStatus("bank"),
      expect: [
        [15, "ACTIVE"],
        [20, "INVALID_PAYLOAD"],
        [25, "INVALID_PAYLOAD"],
        [30, "ACTIVE"],
      ],
    },
    {
      name: "owner: the first known version's owner applies to an event before it",
      history: [account("c", accountRow("bank", M), T(10))],
      needs: needsAccount("bank"),
      expect: [
        [5, M, "ok"],
        [5, OTHER, "CROSS_TENANT"],
        [15, OTHER, "CROSS_TENANT"],
      ],
    },
  ]);

  it("answers table lookups as of a time: the last version at or before it, else the first known", () => {
    const t = tablesOf(
      vendor("c", vendorRow("v-1", M, { name: "A" }), T(10)),
      vendor("u", vendorRow("v-1", M, { name: "B" }), T(20)),
    );
    const names = [0, 10, 15, 20, 25].map((m) => t.vendor("v-1", T(m))?.name);
    assert.deepEqual(names, ["A", "A", "A", "B", "B"]);
    assert.equal(t.vendor("v-1", T(20) - 1)?.name, "A", "compared to the millisecond, as they are");
  });
});

describe("SPEC §5 Time: versions of one key are ordered by offset; equal ts_ms resolve to the last by offset", () => {
  timelines([
    {
      name: "three rows of one transaction: the last by offset is in force at and after its time",
      history: [
        PO_OF_M,
        vendor("c", vendorRow("v-1", M, { name: "A" }), T(10)),
        vendor("u", vendorRow("v-1", M, { name: "B" }), T(10)),
        vendor("u", vendorRow("v-1", M, { name: "C" }), T(10)),
      ],
      needs: needsPo("po-1"),
      show: vendorName,
      expect: [
        [10, "C"],
        [11, "C"],
        // before the known history: the first known version
        [9, "A"],
      ],
    },
    {
      name: "a create and a delete in one transaction: deleted at its time",
      history: [
        VENDOR_OF_M,
        purchaseOrder("c", poRow("po-1", M, "v-1"), T(10)),
        deletion(CDC_TOPICS.purchaseOrder, "po-1", T(10)),
      ],
      needs: needsPo("po-1"),
      expect: [
        [10, "UNRESOLVED"],
        [20, "UNRESOLVED"],
      ],
    },
    {
      name: "an archive and a re-activation in one transaction: active",
      history: [
        account("c", accountRow("bank", M), T(1)),
        account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(10)),
        account("u", accountRow("bank", M, { status: "ACTIVE" }), T(10)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [5, "ok"],
        [10, "ok"],
        [15, "ok"],
      ],
    },
    {
      name: "created, archived and re-activated in one transaction: active from that time",
      history: [
        account("c", accountRow("bank", M), T(10)),
        account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(10)),
        account("u", accountRow("bank", M), T(10)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [5, "ok"],
        [10, "ok"],
        [15, "ok"],
      ],
    },
    {
      name: "a vendor renamed and renamed back in one transaction: the first name, the last by offset",
      history: [
        PO_OF_M,
        vendor("c", vendorRow("v-1", M, { name: "A" }), T(10)),
        vendor("u", vendorRow("v-1", M, { name: "B" }), T(10)),
        vendor("u", vendorRow("v-1", M, { name: "A" }), T(10)),
      ],
      needs: needsPo("po-1"),
      show: vendorName,
      expect: [
        [10, "A"],
        [15, "A"],
      ],
    },
    {
      name: "created, deleted and created again in one transaction (delete-and-insert): it exists",
      history: [
        VENDOR_OF_M,
        purchaseOrder("c", poRow("po-1", M, "v-1"), T(10)),
        deletion(CDC_TOPICS.purchaseOrder, "po-1", T(10)),
        purchaseOrder("c", poRow("po-1", M, "v-1"), T(10)),
      ],
      needs: needsPo("po-1"),
      expect: [
        [10, "ok"],
        [15, "ok"],
      ],
    },
    {
      name: "commit times out of offset order (another clock): the offset order decides which is last",
      history: [
        PO_OF_M,
        vendor("c", vendorRow("v-1", M, { name: "A" }), T(20)),
        vendor("u", vendorRow("v-1", M, { name: "B" }), T(10)),
      ],
      needs: needsPo("po-1"),
      show: vendorName,
      expect: [
        [5, "A"],
        [15, "B"],
        [25, "B"],
      ],
    },
  ]);
});

describe("SPEC §5: a change seen again (a redelivery, a topic read again) changes nothing", () => {
  it("the same row at the same commit time, after later versions: the lookups are as before", () => {
    const history = [
      PO_OF_M,
      vendor("c", vendorRow("v-1", M, { name: "A" }), T(10)),
      vendor("u", vendorRow("v-1", M, { name: "B" }), T(20)),
    ];
    const t = tablesOf(...history);
    const sizes = t.sizes;
    const outs = applyAll(t, history.slice(1));
    assert.deepEqual(
      outs.map((o) => o.kind),
      ["known", "known"],
    );
    assert.deepEqual(t.sizes, sizes);
    assert.deepEqual(
      [15, 25].map((m) => outcome(t, event(m), needsPo("po-1"), vendorName)),
      ["A", "B"],
    );
  });

  it("a refused owner move seen again is reported once", () => {
    const move = vendor("u", vendorRow("v-1", OTHER), T(20));
    const t = tablesOf(vendor("c", vendorRow("v-1", M), T(10)));
    assert.deepEqual(
      applyAll(t, [move, move]).map((o) => o.kind),
      ["refused", "known"],
    );
  });
});

describe("SPEC §5 Time: a tombstone is only a compaction marker", () => {
  const cases: [string, CdcRecord[]][] = [
    ["after a create", [vendor("c", vendorRow("v-1", M), T(10))]],
    ["after a delete", [vendor("c", vendorRow("v-1", M), T(10)), deletion(CDC_TOPICS.vendor, "v-1", T(20))]],
    ["of a key never seen", []],
  ];
  for (const [name, history] of cases) {
    it(`${name}: ignored, and every lookup is as without it`, () => {
      const without = tablesOf(PO_OF_M, ...history);
      const withIt = tablesOf(PO_OF_M, ...history);
      const [out] = applyAll(withIt, [tombstone(CDC_TOPICS.vendor, "v-1")]);
      assert.deepEqual(out, { kind: "ignored", why: "tombstone" });
      for (const minute of [5, 10, 15, 20, 25]) {
        assert.equal(
          outcome(withIt, event(minute), needsPo("po-1"), vendorName),
          outcome(without, event(minute), needsPo("po-1"), vendorName),
          `event at minute ${minute}`,
        );
      }
      assert.deepEqual(withIt.sizes, without.sizes);
    });
  }
});

describe("SPEC §5 Time: a new version only when a field that a voucher or a check uses changes", () => {
  type Sizes = MaterializedTables["sizes"];
  const cases: [string, CdcRecord, CdcRecord, CdcOutcome["kind"], keyof Sizes][] = [
    [
      "vendor re-snapshot with the same values",
      vendor("c", vendorRow("v-1", M, { name: "Acme" }), T(10)),
      vendor("r", vendorRow("v-1", M, { name: "Acme" }), T(50)),
      "unchanged",
      "vendors",
    ],
    [
      "vendor renamed",
      vendor("c", vendorRow("v-1", M, { name: "Acme" }), T(10)),
      vendor("u", vendorRow("v-1", M, { name: "Acme Group" }), T(20)),
      "versioned",
      "vendors",
    ],
    [
      "vendor status only (no voucher uses it)",
      vendor("c", vendorRow("v-1", M), T(10)),
      vendor("u", vendorRow("v-1", M, { status: "INACTIVE" }), T(20)),
      "unchanged",
      "vendors",
    ],
    [
      "purchase order re-coded",
      purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(10)),
      purchaseOrder("u", poRow("po-1", M, "v-1", { code: "PO-1-R" }), T(20)),
      "versioned",
      "purchaseOrders",
    ],
    [
      "purchase order's vendor changed",
      purchaseOrder("c", poRow("po-1", M, "v-1"), T(10)),
      purchaseOrder("u", poRow("po-1", M, "v-2"), T(20)),
      "versioned",
      "purchaseOrders",
    ],
    [
      "purchase order status only",
      purchaseOrder("c", poRow("po-1", M, "v-1"), T(10)),
      purchaseOrder("u", poRow("po-1", M, "v-1", { status: "CLOSED" }), T(20)),
      "unchanged",
      "purchaseOrders",
    ],
    [
      "purchase order re-snapshot",
      purchaseOrder("r", poRow("po-1", M, "v-1"), T(10)),
      purchaseOrder("r", poRow("po-1", M, "v-1"), T(50)),
      "unchanged",
      "purchaseOrders",
    ],
    [
      "account archived",
      account("c", accountRow("bank", M), T(10)),
      account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(20)),
      "versioned",
      "accounts",
    ],
    [
      "account re-coded",
      account("c", accountRow("bank", M, { code: "B1" }), T(10)),
      account("u", accountRow("bank", M, { code: "B2" }), T(20)),
      "versioned",
      "accounts",
    ],
    [
      "account's type changed",
      account("c", accountRow("bank", M), T(10)),
      account("u", accountRow("bank", M, { type: "CONTROL" }), T(20)),
      "versioned",
      "accounts",
    ],
    [
      "account renamed (a voucher line carries the code, not the name)",
      account("c", accountRow("bank", M, { name: "VCB" }), T(10)),
      account("u", accountRow("bank", M, { name: "Vietcombank" }), T(20)),
      "unchanged",
      "accounts",
    ],
    [
      "account re-snapshot",
      account("c", accountRow("bank", M), T(10)),
      account("r", accountRow("bank", M), T(50)),
      "unchanged",
      "accounts",
    ],
    [
      "merchant's book currency changed",
      merchant("c", merchantRow("m-3"), T(10)),
      merchant("u", merchantRow("m-3", { currency: "USD" }), T(20)),
      "versioned",
      "merchants",
    ],
    [
      "merchant renamed",
      merchant("c", merchantRow("m-3"), T(10)),
      merchant("u", merchantRow("m-3", { name: "New name", status: "INACTIVE" }), T(20)),
      "unchanged",
      "merchants",
    ],
    [
      "merchant re-snapshot",
      merchant("c", merchantRow("m-3"), T(10)),
      merchant("r", merchantRow("m-3"), T(50)),
      "unchanged",
      "merchants",
    ],
  ];
  for (const [name, first, second, kind, table] of cases) {
    it(`${name}: ${kind}`, () => {
      const t = tablesOf();
      const before = t.sizes[table].versions;
      const [a, b] = applyAll(t, [first, second]);
      assert.equal(a?.kind, "versioned");
      assert.equal(b?.kind, kind);
      assert.equal(t.sizes[table].versions - before, kind === "versioned" ? 2 : 1);
    });
  }

  it("memory grows with changes, not with re-snapshots: a hundred re-snapshots keep one version", () => {
    const t = tablesOf();
    const snapshots = Array.from({ length: 100 }, (_, i) => vendor("r", vendorRow("v-1", M), T(i)));
    applyAll(t, snapshots);
    assert.deepEqual(t.sizes.vendors, { entities: 1, versions: 1 });
  });
});

describe("SPEC §5 Time: snapshot rows say nothing about the past", () => {
  timelines([
    {
      name: "an ARCHIVED snapshot row taken after the event: status not held; from its own time it is",
      history: [account("r", accountRow("bank", M, { code: "BANK_9", status: "ARCHIVED" }), T(50))],
      needs: needsAccount("bank"),
      show: accountCode("bank"),
      expect: [
        [40, "BANK_9"],
        [50, "INVALID_PAYLOAD"],
        [60, "INVALID_PAYLOAD"],
      ],
    },
    {
      name: "its owner applies to an earlier event",
      history: [account("r", accountRow("bank", M, { status: "ARCHIVED" }), T(50))],
      needs: needsAccount("bank"),
      expect: [[40, OTHER, "CROSS_TENANT"]],
    },
    {
      name: "an ARCHIVED snapshot row, then re-activated",
      history: [
        account("r", accountRow("bank", M, { status: "ARCHIVED" }), T(50)),
        account("u", accountRow("bank", M, { status: "ACTIVE" }), T(70)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [40, "ok"],
        [60, "INVALID_PAYLOAD"],
        [70, "ok"],
      ],
    },
    {
      name: "a vendor's name and a purchase order's code from snapshot rows apply to an earlier event",
      history: [
        vendor("r", vendorRow("v-1", M, { name: "Acme" }), T(50)),
        purchaseOrder("r", poRow("po-1", M, "v-1", { code: "PO-9" }), T(50)),
      ],
      needs: needsPo("po-1"),
      show: poAndVendor,
      expect: [[40, "PO-9 Acme"]],
    },
  ]);
});

describe("SPEC §5 Time: any other version's status is held against events in its time", () => {
  timelines([
    {
      name: "money account archived by an update before the event",
      history: [
        account("c", accountRow("bank", M), T(10)),
        account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(20)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [15, "ok"],
        [20, "INVALID_PAYLOAD"],
        [25, "INVALID_PAYLOAD"],
      ],
    },
    {
      name: "a snapshot ACTIVE, then an update ARCHIVED",
      history: [
        account("r", accountRow("bank", M), T(10)),
        account("u", accountRow("bank", M, { status: "ARCHIVED" }), T(20)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [5, "ok"],
        [15, "ok"],
        [25, "INVALID_PAYLOAD"],
      ],
    },
    {
      name: "a later re-snapshot (not the first version) that says ARCHIVED",
      history: [
        account("c", accountRow("bank", M), T(10)),
        account("r", accountRow("bank", M, { status: "ARCHIVED" }), T(20)),
      ],
      needs: needsAccount("bank"),
      expect: [
        [15, "ok"],
        [25, "INVALID_PAYLOAD"],
      ],
    },
    {
      name: "a first version created (op c) ARCHIVED: only snapshot rows are exempt",
      history: [account("c", accountRow("bank", M, { status: "ARCHIVED" }), T(50))],
      needs: needsAccount("bank"),
      expect: [
        [40, "INVALID_PAYLOAD"],
        [60, "INVALID_PAYLOAD"],
      ],
    },
    {
      name: "a seeded control account archived on the account topic",
      history: [
        account(
          "u",
          accountRow(seededAccountId(M, "COGS"), M, { code: "COGS", type: "CONTROL", status: "ARCHIVED" }),
          T(20),
        ),
      ],
      needs: needsControl("COGS"),
      expect: [
        [15, "ok"],
        [25, "INVALID_PAYLOAD"],
      ],
    },
  ]);
});

describe("SPEC §5 Deletes: a delete closes the last version at its commit time", () => {
  const entities: [string, CdcRecord[], CdcTopic, string, Needs][] = [
    [
      "account",
      [account("c", accountRow("bank", M), T(10))],
      CDC_TOPICS.financeAccount,
      "bank",
      needsAccount("bank"),
    ],
    ["vendor", [PO_OF_M, vendor("c", vendorRow("v-1", M), T(10))], CDC_TOPICS.vendor, "v-1", needsPo("po-1")],
    [
      "purchase order",
      [VENDOR_OF_M, purchaseOrder("c", poRow("po-1", M, "v-1"), T(10))],
      CDC_TOPICS.purchaseOrder,
      "po-1",
      needsPo("po-1"),
    ],
  ];
  for (const [name, history, topic, id, n] of entities) {
    it(`${name}: an event before the delete still resolves; one at or after it is UNRESOLVED`, () => {
      const t = tablesOf(...history, deletion(topic, id, T(20)), tombstone(topic, id));
      assert.deepEqual(
        [5, 15, 19, 20, 25].map((m) => [m, outcome(t, event(m), n)]),
        [
          [5, "ok"],
          [15, "ok"],
          [19, "ok"],
          [20, "UNRESOLVED"],
          [25, "UNRESOLVED"],
        ],
      );
    });

    it(`${name}: re-created under the same owner, events after the re-create resolve again`, () => {
      const row = history.at(-1) as CdcRecord;
      const again = { ...row, value: { ...row.value, op: "c", source: { ts_ms: T(30) } } } as CdcRecord;
      const t = tablesOf(...history, deletion(topic, id, T(20)));
      assert.equal(applyAll(t, [again])[0]?.kind, "versioned");
      assert.deepEqual(
        // (An event between the delete and the re-create is left out: SPEC §5 says it "can be
        // redriven if the entity comes back", which the as-of lookup alone does not settle.)
        [15, 35].map((m) => outcome(t, event(m), n)),
        ["ok", "ok"],
      );
    });
  }

  const merchantDeleted = tablesOf(deletion(CDC_TOPICS.merchant, M, T(20)));
  const merchantCases: [string, ResolvableEvent, Needs, string][] = [
    ["control account, event after the delete", event(25), needsControl("COGS"), "UNRESOLVED"],
    ["CASH, event after the delete", event(25), needsAccount(CASH), "UNRESOLVED"],
    ["control account, event at the delete", event(20), needsControl("COGS"), "UNRESOLVED"],
    ["control account, event before the delete", event(15), needsControl("COGS"), "ok"],
    ["CASH, event before the delete", event(15), needsAccount(CASH), "ok"],
    ["its currency, event before the delete", event(15, M, "USD"), needsControl("COGS"), "INVALID_PAYLOAD"],
    [
      "both, event before the delete",
      event(15),
      needs({ accountIds: [CASH], controlCodes: ["SALES_REVENUE", "CHANGE_CLEARING"] }),
      "ok",
    ],
  ];
  for (const [name, e, n, expected] of merchantCases) {
    it(`a merchant deleted at minute 20: ${name} → ${expected}`, () => {
      assert.equal(outcome(merchantDeleted, e, n), expected);
    });
  }

  it("a merchant deleted and re-created: its accounts are the same, events after the re-create resolve", () => {
    const t = tablesOf(deletion(CDC_TOPICS.merchant, M, T(20)));
    const [out] = applyAll(t, [merchant("c", merchantRow(M), T(30))]);
    assert.deepEqual(out, { kind: "versioned", seeded: [], disowned: [] });
    assert.deepEqual(
      [15, 35].map((m) => outcome(t, event(m), needsControl("COGS"))),
      ["ok", "ok"],
    );
  });

  it("an event of a merchant never seen is UNRESOLVED", () => {
    assert.equal(outcome(tablesOf(), event(5, "m-9"), needsControl("COGS")), "UNRESOLVED");
  });
});

describe("SPEC §5 Owners never change", () => {
  const moves: [string, CdcRecord, CdcRecord, CdcRecord[], Needs, string][] = [
    [
      "account",
      account("c", accountRow("bank", M, { code: "B1" }), T(10)),
      account("u", accountRow("bank", OTHER, { code: "B2" }), T(20)),
      [],
      needsAccount("bank"),
      "finance_account",
    ],
    [
      "vendor",
      vendor("c", vendorRow("v-1", M, { name: "Acme" }), T(10)),
      vendor("u", vendorRow("v-1", OTHER, { name: "Renamed" }), T(20)),
      [PO_OF_M, purchaseOrder("c", poRow("po-2", OTHER, "v-1"), T(1))],
      needsPo("po-1"),
      "vendor",
    ],
    [
      "purchase order",
      purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(10)),
      purchaseOrder("u", poRow("po-1", OTHER, "v-1", { code: "PO-X" }), T(20)),
      [VENDOR_OF_M],
      needsPo("po-1"),
      "purchase_order",
    ],
  ];
  for (const [name, first, move, rest, n, table] of moves) {
    it(`${name}: a row moving it to another merchant is refused (OWNER_CHANGED); the first owner keeps it unchanged`, () => {
      const t = tablesOf(...rest, first);
      const sizes = t.sizes;
      const [out] = applyAll(t, [move]);
      assert.equal(out?.kind, "refused");
      assert.deepEqual(out?.kind === "refused" && [out.table, out.reason], [table, "OWNER_CHANGED"]);
      assert.match(out?.kind === "refused" ? out.message : "", new RegExp(`${M}.*${OTHER}`));
      assert.deepEqual(t.sizes, sizes, "no version was added");
      assert.deepEqual(
        [15, 25].map((m) => outcome(t, event(m), n, (ctx) => JSON.stringify(ctx, mapsAsObjects))),
        [15, 25].map((m) =>
          outcome(tablesOf(...rest, first), event(m), n, (ctx) => JSON.stringify(ctx, mapsAsObjects)),
        ),
      );
      assert.equal(outcome(t, event(25), n), "ok", "the event of the first owner still resolves");
    });

    it(`${name}: deleted, then re-created under another merchant: refused, and never the other merchant's`, () => {
      const t = tablesOf(...rest, first, deletion(move.topic, String(move.key?.id), T(15)));
      const recreate = { ...move, value: { ...move.value, op: "c" } } as CdcRecord;
      const [out] = applyAll(t, [recreate]);
      assert.deepEqual(out?.kind === "refused" && out.reason, "OWNER_CHANGED");
      assert.equal(outcome(t, event(12), n), "ok", "an event of the first owner before the delete");
      assert.equal(outcome(t, event(25), n), "UNRESOLVED", "still deleted for the first owner");
      // Re-created under its first owner, it is back.
      const [back] = applyAll(t, [
        { ...first, value: { ...first.value, source: { ts_ms: T(30) } } } as CdcRecord,
      ]);
      assert.equal(back?.kind, "versioned");
      assert.equal(outcome(t, event(35), n), "ok");
    });
  }

  it("an account deleted and re-created under another merchant is not that merchant's money account", () => {
    const t = tablesOf(
      account("c", accountRow("bank", M), T(10)),
      deletion(CDC_TOPICS.financeAccount, "bank", T(15)),
      account("c", accountRow("bank", OTHER), T(20)),
    );
    assert.equal(outcome(t, event(25, OTHER), needsAccount("bank")), "UNRESOLVED");
    assert.equal(t.account("bank", T(5))?.row.merchantId, M);
  });

  describe("a seeded account is owned by derivation: an account-topic row naming another owner is refused", () => {
    const cashRow = (owner: string, over: Record<string, unknown> = {}) =>
      account("u", accountRow(CASH, owner, { code: "CASH", ...over }), T(10));
    const orders: [string, CdcRecord[]][] = [
      ["merchant row first", [merchant("c", merchantRow(M), T(0)), cashRow(OTHER)]],
      ["account row first", [cashRow(OTHER), merchant("c", merchantRow(M), T(0))]],
    ];
    for (const [name, records] of orders) {
      it(name, () => {
        const t = new MaterializedTables();
        const outs = applyAll(t, [merchant("c", merchantRow(OTHER), T(0)), ...records]);
        const refusals = outs.flatMap((o) =>
          o.kind === "refused"
            ? [`${o.table} ${o.reason}`]
            : o.kind === "versioned"
              ? o.disowned.map((d) => `${d.id} claimed by ${d.claimedBy}, owned by ${d.ownedBy}`)
              : [],
        );
        assert.deepEqual(refusals, [
          name === "merchant row first"
            ? "finance_account OWNER_CHANGED"
            : `${CASH} claimed by ${OTHER}, owned by ${M}`,
        ]);
        assert.equal(t.account(CASH, T(20))?.row.merchantId, M);
        assert.equal(outcome(t, event(20), needsAccount(CASH)), "ok");
        assert.equal(outcome(t, event(20, OTHER), needsAccount(CASH)), "CROSS_TENANT");
      });
    }

    // The owner's own later row for its seeded account must count whichever order the two topics
    // interleave in: the same topics give the same books (SPEC §5).
    const withOwnRow: [string, CdcRecord[]][] = [
      [
        "merchant row first",
        [merchant("c", merchantRow(M), T(0)), cashRow(OTHER), cashRow(M, { status: "ARCHIVED" })],
      ],
      [
        "account rows first",
        [cashRow(OTHER), cashRow(M, { status: "ARCHIVED" }), merchant("c", merchantRow(M), T(0))],
      ],
    ];
    for (const [name, records] of withOwnRow) {
      it(`the owner's own row archiving CASH after a refused row of another merchant is kept (${name})`, () => {
        const t = new MaterializedTables();
        applyAll(t, [merchant("c", merchantRow(OTHER), T(0)), ...records]);
        assert.equal(outcome(t, event(20), needsAccount(CASH)), "INVALID_PAYLOAD");
        assert.equal(outcome(t, event(5), needsAccount(CASH)), "ok");
      });
    }
  });

  describe("an account row whose type or status is outside CONTRACTS' values is refused", () => {
    const refused: [string, Record<string, unknown>, string][] = [
      ['type "control"', { type: "control" }, "INVALID_TYPE"],
      ['type "LIABILITY"', { type: "LIABILITY" }, "INVALID_TYPE"],
      ['type ""', { type: "" }, "INVALID_TYPE"],
      ['type "MONEY " (trailing space)', { type: "MONEY " }, "INVALID_TYPE"],
      ['type "Money"', { type: "Money" }, "INVALID_TYPE"],
      ['status "archived"', { status: "archived" }, "INVALID_STATUS"],
      ['status "INACTIVE"', { status: "INACTIVE" }, "INVALID_STATUS"],
      ['status ""', { status: "" }, "INVALID_STATUS"],
    ];
    for (const [name, over, reason] of refused) {
      it(`${name}: ${reason}, never guessed; a version already there stays in force`, () => {
        const fresh = tablesOf();
        const [first] = applyAll(fresh, [account("c", accountRow("bank", M, over), T(10))]);
        assert.deepEqual(first?.kind === "refused" && [first.table, first.reason], [
          "finance_account",
          reason,
        ]);
        assert.equal(fresh.account("bank", T(20)), undefined);
        assert.equal(outcome(fresh, event(20), needsAccount("bank")), "UNRESOLVED");

        const known = tablesOf(account("c", accountRow("bank", M), T(10)));
        const [later] = applyAll(known, [account("u", accountRow("bank", M, over), T(20))]);
        assert.deepEqual(later?.kind === "refused" && later.reason, reason);
        assert.equal(outcome(known, event(25), needsAccount("bank")), "ok");
      });
    }

    it('a seeded control account\'s row with type "control" is refused; the control account stays CONTROL', () => {
      const cogs = seededAccountId(M, "COGS");
      const t = tablesOf();
      const [out] = applyAll(t, [
        account("u", accountRow(cogs, M, { code: "COGS", type: "control" }), T(10)),
      ]);
      assert.deepEqual(out?.kind === "refused" && out.reason, "INVALID_TYPE");
      assert.equal(
        outcome(t, event(20), needsControl("COGS"), (ctx) => ctx.control.get("COGS")?.type ?? "-"),
        "CONTROL",
      );
    });

    const missing: [string, string][] = [
      ["type", "INVALID_TYPE"],
      ["status", "INVALID_STATUS"],
    ];
    for (const [column, reason] of missing) {
      it(`an account row without a ${column} is refused the same way (${reason}, counted by table and reason), not thrown`, () => {
        const t = tablesOf();
        const row = accountRow("bank", M);
        delete row[column];
        let out: string;
        try {
          const [o] = applyAll(t, [account("c", row, T(10))]);
          out = o?.kind === "refused" ? o.reason : String(o?.kind);
        } catch (e) {
          out = `thrown ${(e as Error).name}: ${(e as Error).message}`;
        }
        assert.equal(out, reason);
        assert.equal(t.account("bank", T(20)), undefined);
      });
    }
  });
});

describe("SPEC §3/§5: currency is the merchant's book currency as of the event", () => {
  const t = tablesOf(merchant("u", merchantRow(M, { currency: "USD" }), T(20)));
  const cases: [number, string, string][] = [
    [-10, "VND", "ok"],
    [10, "VND", "ok"],
    [10, "USD", "INVALID_PAYLOAD"],
    [20, "USD", "ok"],
    [20, "VND", "INVALID_PAYLOAD"],
    [30, "USD", "ok"],
    [30, "EUR", "INVALID_PAYLOAD"],
  ];
  for (const [minute, currency, expected] of cases) {
    it(`a ${currency} event at minute ${minute} (VND until 20, USD from 20): ${expected}`, () => {
      assert.equal(outcome(t, event(minute, M, currency), needsControl("COGS")), expected);
      assert.equal(outcome(t, event(minute, M, currency), needsAccount(CASH)), expected);
    });
  }

  it("a USD event for a VND merchant is INVALID_PAYLOAD, not a reason to wait", () => {
    assert.equal(outcome(tablesOf(), event(5, M, "USD"), needsControl("COGS")), "INVALID_PAYLOAD");
  });
});

describe("SPEC §5: a voucher takes the vendor's name and the purchase order's code as of the event", () => {
  const t = tablesOf(
    vendor("c", vendorRow("v-1", M, { name: "Công ty Hoa Mai" }), T(10)),
    purchaseOrder("c", poRow("po-1", M, "v-1", { code: "PO-1" }), T(10)),
    vendor("u", vendorRow("v-1", M, { name: "Hoa Mai Group" }), T(30)),
    purchaseOrder("u", poRow("po-1", M, "v-1", { code: "PO-1-R" }), T(30)),
  );
  const cases: [number, string, string][] = [
    [20, "Công ty Hoa Mai", "PO-1"],
    [40, "Hoa Mai Group", "PO-1-R"],
  ];
  for (const [minute, name, code] of cases) {
    it(`an event at minute ${minute}: party ${name}, source code ${code}`, () => {
      const e = purchaseReceived({ occurredAt: T(minute) });
      purchasePaymentRule.validate(e);
      const ctx = resolveNow(t, e, purchasePaymentRule.needs(e));
      const [v] = purchasePaymentRule.post(e, ctx, ORIGIN).vouchers;
      assert.deepEqual(v?.party, { type: "VENDOR", id: "v-1", name: { en: name, vi: name } });
      assert.equal(v?.source.code, code);
    });
  }
});

/** JSON.stringify replacer showing a context's maps. */
function mapsAsObjects(_key: string, value: unknown): unknown {
  return value instanceof Map ? Object.fromEntries(value) : value;
}
