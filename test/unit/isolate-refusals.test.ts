import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isolateRefusals } from "../../src/sinks/isolate-refusals.js";

/** What Postgres raises for a NUL byte in text: SQLSTATE 22021, a content refusal. */
const refused = (n: number) => Object.assign(new Error(`row ${n}: invalid byte sequence`), { code: "22021" });

/** A fake transactional writer: a batch holding any bad item fails whole, else all of it is stored. */
function fakeTable(bad: ReadonlySet<number>) {
  const stored: number[] = [];
  let writes = 0;
  const write = async (items: readonly number[]) => {
    writes++;
    const hit = items.find((i) => bad.has(i));
    if (hit !== undefined) throw refused(hit);
    stored.push(...items);
  };
  return { stored, write, writes: () => writes };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("isolateRefusals", () => {
  for (const bad of [[], [417], [0, 500, 999], range(1000)]) {
    it(`finds exactly the ${bad.length} refused item(s) among 1000 and stores every other once`, async () => {
      const table = fakeTable(new Set(bad));
      const refusals = await isolateRefusals(range(1000), table.write);
      assert.deepEqual(
        refusals.map((r) => r.item),
        bad,
      );
      for (const r of refusals) assert.match(r.error.message, new RegExp(`^row ${r.item}:`));
      assert.deepEqual(
        table.stored,
        range(1000).filter((i) => !bad.includes(i)),
      );
    });
  }

  it("writes once when nothing is refused, and a few times per refused item", async () => {
    const clean = fakeTable(new Set());
    await isolateRefusals(range(1000), clean.write);
    assert.equal(clean.writes(), 1);
    const one = fakeTable(new Set([417]));
    await isolateRefusals(range(1000), one.write);
    assert.ok(one.writes() <= 2 * Math.ceil(Math.log2(1000)) + 1, `${one.writes()} writes`);
  });

  it("writes nothing for no items", async () => {
    const table = fakeTable(new Set());
    assert.deepEqual(await isolateRefusals([], table.write), []);
    assert.equal(table.writes(), 0);
  });

  it("keeps the items' order across halves", async () => {
    const table = fakeTable(new Set([3]));
    await isolateRefusals([9, 3, 7, 1, 8], table.write);
    assert.deepEqual(table.stored, [9, 7, 1, 8]);
  });

  it("propagates an error that is not a content refusal untouched, refusing nothing", async () => {
    const outage = Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
    });
    await assert.rejects(
      isolateRefusals(range(10), async () => {
        throw outage;
      }),
      (e) => e === outage,
    );
    // also when the outage starts while halves are being retried
    let calls = 0;
    const missingTable = Object.assign(new Error('relation "finance.voucher" does not exist'), {
      code: "42P01",
    });
    await assert.rejects(
      isolateRefusals(range(10), async () => {
        calls++;
        throw calls === 1 ? refused(0) : missingTable;
      }),
      (e) => e === missingTable,
    );
    const plain = new Error("not a database error");
    await assert.rejects(
      isolateRefusals([1], async () => {
        throw plain;
      }),
      (e) => e === plain,
    );
  });
});
