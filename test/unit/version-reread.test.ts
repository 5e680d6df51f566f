import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyCdc, type CdcRecord } from "../../src/enrich/cdc.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { seededAccountId } from "../../src/ids.js";
import { CDC_TOPICS } from "../../src/topics.js";
import { change, deletion, merchantRow, quiet } from "../support/cdc-rows.js";

/**
 * SPEC §5 "Finance keeps what it has seen": a restart loads the kept versions, then reads the
 * CDC topics again from the start — whole, compacted, or with rows finance had found unchanged —
 * and ends with exactly the versions it had, in topic order, before anything new.
 */
const vendor = (name: string, at: number): CdcRecord =>
  change(CDC_TOPICS.vendor, "u", { id: "v-1", merchant_id: "m-1", name, status: "ACTIVE" }, at);

// A renamed B and back to A in one transaction (equal commit times), then C.
const TOPIC = [vendor("A", 10), vendor("B", 10), vendor("A", 10), vendor("C", 20)];

function live(records: readonly CdcRecord[]): { tables: MaterializedTables; kept: CdcRecord[] } {
  const tables = new MaterializedTables();
  const kept = records.filter((r) => applyCdc(tables, r, quiet).kind === "versioned");
  return { tables, kept };
}

function restarted(kept: readonly CdcRecord[], reread: readonly CdcRecord[]) {
  const tables = new MaterializedTables();
  for (const r of kept) applyCdc(tables, r, quiet);
  tables.expectReread();
  const outcomes = reread.map((r) => applyCdc(tables, r, quiet).kind);
  return { tables, outcomes };
}

const names = (t: MaterializedTables) => [5, 10, 15, 20, 25].map((at) => t.vendor("v-1", at)?.name);

describe("kept versions and the topics read again (SPEC §5)", () => {
  it("live: a change undone in its transaction ends with its last row by offset", () => {
    const { tables, kept } = live(TOPIC);
    assert.equal(kept.length, 4);
    assert.deepEqual(names(tables), ["A", "A", "A", "C", "C"]);
  });

  const cases: { name: string; reread: CdcRecord[]; outcomes: string[] }[] = [
    { name: "the whole topic again", reread: TOPIC, outcomes: ["known", "known", "known", "known"] },
    { name: "the topic compacted to its last row", reread: [vendor("C", 20)], outcomes: ["known"] },
    {
      name: "a row finance found unchanged, between kept ones",
      reread: [vendor("A", 10), vendor("B", 10), vendor("A", 10), vendor("A", 12), vendor("C", 20)],
      outcomes: ["known", "known", "known", "unchanged", "known"],
    },
  ];
  for (const c of cases) {
    it(`restart, then ${c.name}: the same versions, nothing twice`, () => {
      const before = live(TOPIC);
      const after = restarted(before.kept, c.reread);
      assert.deepEqual(after.outcomes, c.outcomes);
      assert.deepEqual(after.tables.sizes, before.tables.sizes);
      assert.deepEqual(names(after.tables), names(before.tables));
    });
  }

  it("after the topic read again, a new row is a new version, last", () => {
    const { kept } = live(TOPIC);
    const { tables, outcomes } = restarted(kept, [...TOPIC, vendor("D", 30)]);
    assert.equal(outcomes.at(-1), "versioned");
    assert.equal(tables.vendor("v-1", 35)?.name, "D");
    assert.equal(tables.vendor("v-1", 25)?.name, "C");
  });

  it("a connector sending again what it sent since its last commit changes nothing", () => {
    const { tables } = live(TOPIC);
    const outcomes = [vendor("B", 10), vendor("C", 20)].map((r) => applyCdc(tables, r, quiet).kind);
    assert.deepEqual(outcomes, ["known", "known"]);
    assert.deepEqual(names(tables), ["A", "A", "A", "C", "C"]);
  });
});

describe("a seeded account id contested before its merchant came (property test's counterexample)", () => {
  const T = 1_767_225_600_000;
  const cogs = seededAccountId("m-1", "COGS");
  const row = (owner: string) => ({
    id: cogs,
    merchant_id: owner,
    code: "B1",
    name: "n1",
    type: "MONEY",
    status: "ACTIVE",
  });
  const accountRows = [
    change(CDC_TOPICS.financeAccount, "c", row("m-2"), T),
    deletion(CDC_TOPICS.financeAccount, cogs, T),
    change(CDC_TOPICS.financeAccount, "c", row("m-1"), T),
    deletion(CDC_TOPICS.financeAccount, cogs, T),
  ];
  const merchant = change(CDC_TOPICS.merchant, "c", merchantRow("m-1"), T);
  for (const [name, order] of [
    ["merchant first", [merchant, ...accountRows]],
    ["account rows first", [...accountRows, merchant]],
  ] as const) {
    it(`${name}: the owner's own delete, the last row, stands`, () => {
      const tables = new MaterializedTables();
      for (const r of order) applyCdc(tables, r, quiet);
      assert.equal(tables.account(cogs, T), undefined);
    });
  }
});
