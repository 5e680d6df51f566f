import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import avro from "avsc";
import { Partitioners } from "kafkajs";
import { pino } from "pino";
import { AvroCodec } from "../../src/avro/codec.js";
import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../../src/domain/events.js";
import { applyCdc, type CdcRecord } from "../../src/enrich/cdc.js";
import { resolveNow } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { isPostingError } from "../../src/errors.js";
import { seededAccountId } from "../../src/ids.js";
import { isMoney, money } from "../../src/money.js";
import { ruleFor } from "../../src/rules/index.js";
import { loadSchema } from "../../src/schemas.js";
import {
  ALL_CDC_TOPICS,
  ALL_SOURCE_TOPICS,
  CDC_TOPICS,
  keySubject,
  SOURCE_TOPICS,
  valueSubject,
} from "../../src/topics.js";
import type { AccountRow, PurchaseOrderRow, VendorRow } from "../../tools/simulate/cdc/debezium.js";
import {
  type CdcItem,
  type Dataset,
  DEFAULT_START,
  type EventItem,
  generateDataset,
  HISTORY_DELAY_MS,
  latestOccurredAt,
  resolveOptions,
  TOPIC_MIX,
  type WorldChanges,
} from "../../tools/simulate/dataset.js";
import {
  contractType,
  DatasetEncoder,
  META_FIELDS,
  partitionOf,
  SIM_TOPICS,
  TOMBSTONE,
} from "../../tools/simulate/encode.js";
import type { SimMerchant } from "../../tools/simulate/world/merchants.js";
import { ExpectedWorld, expectedOutcome, expectedTotals, VOUCHER_KINDS } from "../oracle/expected.js";

const quiet = pino({ level: "silent" });

/** Stable text of any item: decimals as their exact text, buffers as hex. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (isMoney(v)) return `dec:${v.toString()}`;
    if (typeof v === "bigint") return `big:${v}`;
    if (v && typeof v === "object" && (v as { type?: string }).type === "Buffer") {
      return `hex:${Buffer.from((v as { data: number[] }).data).toString("hex")}`;
    }
    return v;
  });
}

function digest(items: Iterable<unknown>): { hash: string; count: number } {
  const h = createHash("sha256");
  let count = 0;
  for (const item of items) {
    h.update(canonical(item));
    h.update("\n");
    count++;
  }
  return { hash: h.digest("hex"), count };
}

const take = <T>(it: Iterable<T>, n: number): T[] => {
  const out: T[] = [];
  for (const x of it) {
    if (out.length >= n) break;
    out.push(x);
  }
  return out;
};

const payments = (items: EventItem[]) =>
  items
    .filter((i) => i.topic === SOURCE_TOPICS.paymentSuccess && i.event)
    .map((i) => i.event as PaymentSucceeded);
const purchases = (items: EventItem[]) =>
  items
    .filter((i) => i.topic === SOURCE_TOPICS.purchaseOrderReceived && i.event)
    .map((i) => i.event as PurchaseOrderReceived);
const issues = (items: EventItem[]) =>
  items
    .filter((i) => i.topic === SOURCE_TOPICS.inventoryIssuedForSale)
    .map((i) => i.event as InventoryIssuedForSale);
const adjustments = (items: EventItem[]) =>
  items.filter((i) => i.topic === SOURCE_TOPICS.inventoryAdjusted).map((i) => i.event as InventoryAdjusted);

/** A CDC item that is not a tombstone. */
function withValue(c: CdcItem): CdcItem & { value: NonNullable<CdcItem["value"]> } {
  assert.ok(c.value !== null, `${c.topic} ${c.key.id} is a tombstone`);
  return c as CdcItem & { value: NonNullable<CdcItem["value"]> };
}

/** Debezium's `source.snapshot` values of an initial snapshot's rows. */
const SNAPSHOT_MARKERS: readonly string[] = [
  "first",
  "first_in_data_collection",
  "true",
  "last_in_data_collection",
  "last",
];

const isCdcTopic = (t: string) => (ALL_CDC_TOPICS as readonly string[]).includes(t);

const sum = (xs: { amount: ReturnType<typeof money> }[]) => xs.reduce((s, x) => s.plus(x.amount), money(0));

describe("simulated data set: reproducibility", () => {
  const opts = { seed: 7, merchants: 12, events: 5_000 };

  it("the same seed gives the same items, item for item and as a whole", () => {
    const a = generateDataset(opts);
    const b = generateDataset(opts);
    assert.deepEqual(take(a.events(), 300), take(b.events(), 300));
    assert.deepEqual(take(a.cdc(), 300), take(b.cdc(), 300));
    assert.deepEqual(digest(a.events()), digest(b.events()));
    assert.deepEqual(digest(a.cdc()), digest(b.cdc()));
    // Iterating again restarts from the seed.
    assert.deepEqual(digest(a.events()), digest(generateDataset(opts).events()));
  });

  it("a different seed gives different data", () => {
    const a = generateDataset(opts);
    const b = generateDataset({ ...opts, seed: 8 });
    assert.notEqual(digest(a.events()).hash, digest(b.events()).hash);
    assert.notEqual(digest(a.cdc()).hash, digest(b.cdc()).hash);
  });

  it("more events leave the merchants, their accounts and the first events unchanged", () => {
    const small = generateDataset(opts);
    const large = generateDataset({ ...opts, events: 6_000 });
    assert.deepEqual(small.merchants, large.merchants);
    assert.deepEqual(take(small.events(), 1_000), take(large.events(), 1_000));
  });

  it("never reads the clock: timestamps start at 2026-01-01 and do not depend on when it runs", () => {
    const items = [...generateDataset({ ...opts, events: 1_000 }).events()];
    const originals = items
      .filter((i) => i.delivery === "ORIGINAL" && i.event)
      .map((i) => i.event as { occurredAt: number });
    assert.ok((originals[0]?.occurredAt ?? 0) > DEFAULT_START);
    for (let i = 1; i < originals.length; i++) {
      assert.ok((originals[i]?.occurredAt as number) > (originals[i - 1]?.occurredAt as number));
    }
  });

  it("rejects nonsense options", () => {
    assert.throws(() => resolveOptions({ seed: 1, merchants: 0, events: 1 }), RangeError);
    assert.throws(() => resolveOptions({ seed: 1.5, merchants: 1, events: 1 }), RangeError);
    assert.throws(() => resolveOptions({ seed: 1, merchants: 1, events: -1 }), RangeError);
  });
});

describe("simulated data set: shape", () => {
  const ds = generateDataset({ seed: 42, merchants: 25, events: 20_000 });
  const items = [...ds.events()];
  const cdc = [...ds.cdc()];
  /** The snapshot: the CDC rows of a data set without history. */
  const snapshot = [...generateDataset({ ...ds.options, history: false }).cdc()];

  it("yields exactly N events, in about the intended proportions", () => {
    assert.equal(items.length, 20_000);
    for (const topic of ALL_SOURCE_TOPICS) {
      const share = items.filter((i) => i.topic === topic).length / items.length;
      assert.ok(Math.abs(share - TOPIC_MIX[topic]) < 0.02, `${topic}: ${share}`);
    }
    for (const d of ["REDELIVERY", "REPUBLICATION"] as const) {
      const share = items.filter((i) => i.delivery === d).length / items.length;
      assert.ok(share > 0.005 && share < 0.015, `${d}: ${share}`);
    }
    assert.equal(
      items.filter((i) => i.intended !== null || i.raw !== null).length,
      0,
      "no bad events by default",
    );
  });

  it("CDC: Debezium snapshot reads of merchants, money accounts, vendors and purchase orders", () => {
    assert.equal(cdc.length, ds.cdcCount);
    assert.deepEqual(cdc.slice(0, snapshot.length), snapshot, "the history follows the snapshot");
    const byTopic = (t: string) => snapshot.filter((c) => c.topic === t).map(withValue);
    assert.equal(byTopic(CDC_TOPICS.merchant).length, 25);
    assert.equal(byTopic(CDC_TOPICS.purchaseOrder).length, ds.purchaseOrderCount);
    for (const c of snapshot.map(withValue)) {
      assert.equal(c.value.op, "r");
      assert.equal(c.value.before, null);
      assert.ok(SNAPSHOT_MARKERS.includes(c.value.source.snapshot ?? ""), c.value.source.snapshot ?? "null");
      assert.equal(c.key.id, (c.value.after as { id: string }).id);
    }
    for (const m of byTopic(CDC_TOPICS.merchant)) {
      assert.deepEqual(
        {
          currency: (m.value.after as { currency: string }).currency,
          status: (m.value.after as { status: string }).status,
        },
        { currency: "VND", status: "ACTIVE" },
      );
    }
    const accounts = byTopic(CDC_TOPICS.financeAccount).map(
      (c) => c.value.after as { code: string; type: string },
    );
    assert.ok(accounts.every((a) => a.type === "MONEY" && /^(BANK|EWALLET|CASH)_\d$/.test(a.code)));
    assert.ok(accounts.some((a) => a.code === "BANK_1") && accounts.some((a) => a.code === "EWALLET_1"));
    const codes = byTopic(CDC_TOPICS.purchaseOrder).map((c) => (c.value.after as { code: string }).code);
    assert.match(codes[122] as string, /^PO-000123$/);
    // Every merchant has a bank account; every vendor and PO belongs to a CDC'd merchant.
    const merchantIds = new Set(ds.merchants.map((m) => m.id));
    assert.ok(ds.merchants.every((m) => m.moneyAccounts.some((a) => a.code === "BANK_1")));
    for (const c of [...byTopic(CDC_TOPICS.vendor), ...byTopic(CDC_TOPICS.purchaseOrder)]) {
      assert.ok(merchantIds.has((c.value.after as { merchant_id: string }).merchant_id));
    }
  });

  it("CDC rows and events are valid records of the contract schemas", () => {
    const types = new Map([...SIM_TOPICS].map((t) => [t, contractType(valueSubject(t), isCdcTopic(t))]));
    const check = (topic: (typeof SIM_TOPICS)[number], v: unknown) => {
      const errors: string[] = [];
      const ok = types.get(topic)?.isValid(v, { errorHook: (path) => errors.push(path.join(".")) });
      assert.ok(ok, `${topic}: ${errors.join(", ")}`);
    };
    for (const c of cdc) if (c.value !== null) check(c.topic, c.value);
    for (const i of items) check(i.topic, i.event);
  });

  it("covers the sale cases: split tenders, change, exact cash, no routing, walk-in and named customers", () => {
    const ps = payments(items);
    const attempts = ps.flatMap((p) => p.attempts);
    assert.ok(
      ps.some(
        (p) =>
          p.attempts.length === 2 && p.attempts[0]?.method === "CASH" && p.attempts[1]?.method === "CARD",
      ),
    );
    assert.ok(ps.some((p) => p.attempts.length === 3));
    const cash = attempts.filter((a) => a.method === "CASH");
    assert.ok(cash.every((a) => a.tendered?.greaterThanOrEqualTo(a.amount)));
    assert.ok(cash.filter((a) => a.tendered?.greaterThan(a.amount)).length > cash.length * 0.4);
    assert.ok(cash.filter((a) => a.tendered?.equals(a.amount)).length > cash.length * 0.2);
    assert.ok(attempts.filter((a) => a.method !== "CASH").every((a) => a.tendered === null));
    const unrouted = attempts.filter((a) => a.finance === null).length / attempts.length;
    assert.ok(unrouted > 0.03 && unrouted < 0.1, `unrouted ${unrouted}`);
    const named = ps.filter((p) => p.customer !== null).length / ps.length;
    assert.ok(named > 0.25 && named < 0.45, `named ${named}`);
    for (const p of ps) {
      assert.ok(sum(p.attempts).equals(p.orderTotal), "attempts pay the order total");
      assert.match(p.saleOrderCode, /^SO-\d{6}$/);
    }
    const amounts = attempts.map((a) => a.amount);
    assert.ok(
      amounts.some((a) => a.decimalPlaces() === 4 || a.decimalPlaces() === 3),
      "a few 4-decimal amounts",
    );
    assert.ok(amounts.every((a) => a.greaterThan(0) && a.decimalPlaces() <= 4));
    const totals = ps.map((p) => p.orderTotal.toNumber());
    assert.ok(Math.min(...totals) >= 9_000 && Math.max(...totals) <= 5_100_000);
  });

  it("covers the purchase cases: several payments, paid < = > received, received 0, no payments", () => {
    const pos = purchases(items);
    assert.ok(pos.some((p) => p.payments.length >= 2));
    assert.ok(pos.some((p) => p.payments.length === 0));
    assert.ok(pos.some((p) => p.receivedValue.isZero() && p.payments.length > 0));
    const paid = (p: PurchaseOrderReceived) => sum(p.payments);
    const withPayments = pos.filter((p) => p.payments.length > 0 && p.receivedValue.greaterThan(0));
    assert.ok(withPayments.some((p) => paid(p).lessThan(p.receivedValue)));
    assert.ok(withPayments.some((p) => paid(p).greaterThan(p.receivedValue)));
    assert.ok(withPayments.some((p) => paid(p).equals(p.receivedValue)));
    assert.ok(pos.every((p) => p.payments.every((x) => x.amount.greaterThan(0))));
    const originals = items.filter(
      (i) => i.topic === SOURCE_TOPICS.purchaseOrderReceived && i.delivery === "ORIGINAL",
    );
    assert.equal(new Set(originals.map((i) => i.key)).size, originals.length, "each PO is received once");
  });

  it("covers the inventory cases: zero-cost issues, zero / gains / losses, with and without a reason", () => {
    const is = issues(items);
    assert.ok(is.some((i) => i.costBasis.isZero()));
    assert.ok(is.some((i) => i.saleOrderCode === null));
    const sales = new Set(payments(items).map((p) => p.saleOrderId));
    assert.ok(is.filter((i) => sales.has(i.saleOrderId)).length > is.length * 0.9, "issues follow sales");
    const as = adjustments(items);
    assert.ok(as.some((a) => a.valueDelta.isZero()));
    assert.ok(as.some((a) => a.valueDelta.isPositive() && !a.valueDelta.isZero()));
    assert.ok(as.some((a) => a.valueDelta.isNegative()));
    assert.ok(as.some((a) => a.reason === null) && as.some((a) => a.reason !== null));
  });

  it("keys events by their contract key", () => {
    for (const i of items) {
      const e = i.event as unknown as Record<string, string>;
      const field = {
        [SOURCE_TOPICS.paymentSuccess]: "saleOrderId",
        [SOURCE_TOPICS.purchaseOrderReceived]: "purchaseOrderId",
        [SOURCE_TOPICS.inventoryIssuedForSale]: "saleOrderId",
        [SOURCE_TOPICS.inventoryAdjusted]: "inventoryTrackingId",
      }[i.topic];
      assert.equal(i.key, e[field]);
    }
  });

  it("every event references its own merchant's money accounts and purchase orders", () => {
    const own = new Map(ds.merchants.map((m) => [m.id, new Set(m.moneyAccounts.map((a) => a.id))]));
    const poOwner = new Map(
      snapshot
        .filter((c) => c.topic === CDC_TOPICS.purchaseOrder)
        .map(withValue)
        .map((c) => [c.key.id, (c.value.after as { merchant_id: string }).merchant_id]),
    );
    for (const p of payments(items)) {
      assert.ok(own.has(p.merchantId));
      for (const a of p.attempts) if (a.finance) assert.ok(own.get(p.merchantId)?.has(a.finance.source.id));
      const cash = p.attempts.find((a) => a.method === "CASH" && a.finance);
      if (cash?.finance && own.get(p.merchantId)?.size === 1) {
        assert.equal(cash.finance.source.id, seededAccountId(p.merchantId, "CASH"));
      }
    }
    for (const p of purchases(items)) {
      assert.equal(poOwner.get(p.purchaseOrderId), p.merchantId);
      for (const x of p.payments) assert.ok(own.get(p.merchantId)?.has(x.accountId));
    }
    for (const e of [...issues(items), ...adjustments(items)]) assert.ok(own.has(e.merchantId));
    // The seeded CASH drawer is the usual cash account.
    const cashIds = payments(items).flatMap((p) =>
      p.attempts.filter((a) => a.method === "CASH" && a.finance).map((a) => a.finance?.source.id),
    );
    const seeded = new Set(ds.merchants.map((m) => seededAccountId(m.id, "CASH")));
    assert.ok(cashIds.filter((id) => seeded.has(id as string)).length > cashIds.length * 0.8);
  });

  it("redeliveries repeat a record exactly; re-publications repeat its content under a new eventId", () => {
    const originals = new Map<string, EventItem>();
    const eventIds = new Set<string>();
    for (const i of items) {
      const e = i.event as { eventId: string };
      if (i.delivery === "ORIGINAL") {
        assert.ok(!eventIds.has(e.eventId), "eventIds are unique per publication");
        eventIds.add(e.eventId);
        originals.set(`${i.topic}/${i.key}`, i);
      } else if (i.delivery === "REDELIVERY") {
        const o = originals.get(`${i.topic}/${i.key}`);
        assert.ok(o, "a redelivery follows its original");
        assert.equal(canonical(i.event), canonical(o.event));
      } else {
        const o = originals.get(`${i.topic}/${i.key}`);
        assert.ok(o, "a re-publication follows its original");
        assert.notEqual(e.eventId, (o.event as { eventId: string }).eventId);
        assert.ok(!eventIds.has(e.eventId));
        eventIds.add(e.eventId);
        assert.equal(canonical({ ...i.event, eventId: "" }), canonical({ ...o.event, eventId: "" }));
      }
    }
  });
});

describe("simulated data set: deliberately bad events", () => {
  const ds = generateDataset({ seed: 5, merchants: 6, events: 3_000, bad: true, badRate: 0.01 });
  const items = [...ds.events()];

  it("are off by default and, with `bad`, cover every dead-letter reason", () => {
    const reasons = new Set(items.map((i) => i.intended).filter((r) => r !== null));
    assert.deepEqual([...reasons].sort(), ["CROSS_TENANT", "INVALID_PAYLOAD", "UNDECODABLE", "UNRESOLVED"]);
    const share = items.filter((i) => i.intended !== null).length / items.length;
    assert.ok(share > 0.003 && share < 0.03, `bad share ${share}`);
    // Even a tiny data set gets one of each.
    const tiny = [...generateDataset({ seed: 1, merchants: 2, events: 20, bad: true }).events()];
    assert.equal(new Set(tiny.map((i) => i.intended).filter(Boolean)).size, 4);
  });

  it("can be limited to some reasons", () => {
    const some = [
      ...generateDataset({
        seed: 5,
        merchants: 3,
        events: 2_000,
        bad: true,
        badRate: 0.01,
        badReasons: ["UNDECODABLE", "CROSS_TENANT"],
      }).events(),
    ];
    assert.deepEqual([...new Set(some.map((i) => i.intended).filter(Boolean))].sort(), [
      "CROSS_TENANT",
      "UNDECODABLE",
    ]);
    assert.throws(
      () => resolveOptions({ seed: 1, merchants: 1, events: 1, bad: true, badReasons: [] }),
      RangeError,
    );
  });

  it("the independent expectations find exactly the intended reason for each", () => {
    const world = ExpectedWorld.of(ds);
    for (const i of items) {
      const o = expectedOutcome(i, world);
      assert.equal(o.deadLetter, i.intended, `${i.seq} ${i.topic} ${o.deadLetter ? o.why : ""}`);
    }
  });

  it("a single merchant cannot be cross-tenant: its bad events are invalid payloads instead", () => {
    const one = [...generateDataset({ seed: 3, merchants: 1, events: 50, bad: true }).events()];
    assert.ok(!one.some((i) => i.intended === "CROSS_TENANT"));
    assert.ok(one.some((i) => i.intended === "INVALID_PAYLOAD"));
  });
});

describe("simulated data set: history after the events", () => {
  const opts = { seed: 31, merchants: 6, events: 5_000, bad: true, badRate: 0.01, duplicateRate: 0.05 };
  const ds = generateDataset(opts);
  const plain = generateDataset({ ...opts, history: false });
  const cdc = [...ds.cdc()];
  const snapshot = cdc.slice(0, plain.cdcCount);
  const history = cdc.slice(plain.cdcCount);
  const changes = ds.changes as WorldChanges;
  const lastEvent = latestEvent(ds);
  const rows = (topic: string, op: string) =>
    history.filter((c) => c.topic === topic && c.value?.op === op).map(withValue);
  const snapshotRow = new Map(snapshot.map(withValue).map((c) => [`${c.topic}/${c.key.id}`, c.value.after]));

  it("per merchant: an account archived, every vendor renamed, some deleted, a refused owner move", () => {
    assert.equal(cdc.length, ds.cdcCount);
    assert.deepEqual(snapshot, [...plain.cdc()], "the history follows the same snapshot");
    const accounts = rows(CDC_TOPICS.financeAccount, "u").map((c) => c.value.after as AccountRow);
    const vendorsRenamed = rows(CDC_TOPICS.vendor, "u").map((c) => c.value.after as VendorRow);
    const vendorsDeleted = rows(CDC_TOPICS.vendor, "d").map((c) => c.value.before as VendorRow);
    for (const c of changes.merchants) {
      const m = c.merchant;
      const onTopic = new Set(m.moneyAccounts.filter((a) => !a.seeded).map((a) => a.id));
      const own = accounts.filter((a) => onTopic.has(a.id));
      const archives = own.filter((a) => a.merchant_id === m.id);
      assert.deepEqual(
        archives.map((a) => [a.id, a.status]),
        [[c.archived.id, "ARCHIVED"]],
      );
      const moves = own.filter((a) => a.merchant_id !== m.id);
      assert.deepEqual(
        moves.map((a) => [a.id, a.merchant_id]),
        [[c.ownerMove.account.id, ds.merchants[(m.index + 1) % ds.merchants.length]?.id]],
      );
      const renamed = vendorsRenamed.filter((v) => v.merchant_id === m.id);
      assert.deepEqual(renamed.map((v) => v.id).sort(), m.vendors.map((v) => v.id).sort());
      for (const v of renamed) {
        assert.notEqual(v.name, (snapshotRow.get(`${CDC_TOPICS.vendor}/${v.id}`) as VendorRow).name);
      }
      const deleted = vendorsDeleted.filter((v) => v.merchant_id === m.id);
      assert.ok(deleted.length >= 1 && deleted.length < m.vendors.length + 1, m.id);
      // A delete carries the row as it was last: renamed.
      for (const v of deleted)
        assert.deepEqual(
          v,
          renamed.find((r) => r.id === v.id),
        );
    }
    assert.equal(accounts.length, 2 * ds.merchants.length);
  });

  it("every purchase order re-coded, and the last merchant deleted where there are more than a few", () => {
    const recoded = rows(CDC_TOPICS.purchaseOrder, "u").map((c) => c.value.after as PurchaseOrderRow);
    assert.equal(recoded.length, ds.purchaseOrderCount);
    for (const po of recoded) {
      const before = snapshotRow.get(`${CDC_TOPICS.purchaseOrder}/${po.id}`) as PurchaseOrderRow;
      assert.match(po.code, /^PN-\d{6}$/);
      assert.deepEqual({ ...po, code: before.code }, before, "only the code changes");
    }
    const merchantDeletes = rows(CDC_TOPICS.merchant, "d");
    assert.deepEqual(
      merchantDeletes.map((c) => c.key.id),
      [ds.merchants.at(-1)?.id],
    );
    assert.deepEqual(
      merchantDeletes[0]?.value.before,
      snapshotRow.get(`${CDC_TOPICS.merchant}/${ds.merchants.at(-1)?.id}`),
    );
    const small = generateDataset({ seed: 31, merchants: 3, events: 500 });
    assert.ok(![...small.cdc()].some((c) => c.topic === CDC_TOPICS.merchant && c.value?.op === "d"));
    assert.equal(small.changes?.deletedMerchant, null);
  });

  it("with one merchant, the owner move names a merchant finance never saw", () => {
    const one = generateDataset({ seed: 2, merchants: 1, events: 200 });
    const m = one.merchants[0] as SimMerchant;
    const moves = [...one.cdc()]
      .filter((c) => c.topic === CDC_TOPICS.financeAccount && c.value?.op === "u")
      .map((c) => withValue(c).value.after as AccountRow)
      .filter((a) => a.merchant_id !== m.id);
    assert.equal(moves.length, 1);
    assert.ok(moves[0]?.merchant_id && moves[0].merchant_id !== m.id);
  });

  it("every change is committed after every event occurred; the snapshot before the first", () => {
    const firstEvent = Math.min(...[...ds.events()].flatMap((i) => (i.event ? [i.event.occurredAt] : [])));
    assert.ok(snapshot.every((c) => (c.value?.source.ts_ms ?? 0) < firstEvent));
    const firstChange = Math.min(...history.map((c) => c.value?.source.ts_ms ?? Number.POSITIVE_INFINITY));
    assert.ok(firstChange > lastEvent, `${firstChange} after ${lastEvent}`);
    assert.equal(firstChange, latestOccurredAt(ds.options) + HISTORY_DELAY_MS);
    // The bound holds whatever the mix: copies repeat their original's time, bad events draw one.
    for (const o of [
      { seed: 1, merchants: 3, events: 3_000, bad: true, badRate: 0.2, duplicateRate: 0.2 },
      { seed: 9, merchants: 40, events: 20_000 },
      { seed: 4, merchants: 1, events: 1 },
    ]) {
      const d = generateDataset(o);
      assert.ok(latestEvent(d) <= latestOccurredAt(d.options), JSON.stringify(o));
    }
  });

  it("messages: ts_ms after the commit (a snapshot's rows one by one); commits and LSNs in log order; a tombstone after each delete", () => {
    let last = {
      ts: Number.NEGATIVE_INFINITY,
      lsn: Number.NEGATIVE_INFINITY,
      emitted: Number.NEGATIVE_INFINITY,
    };
    cdc.forEach((c, i) => {
      if (c.value === null) {
        const deleted = cdc[i - 1];
        assert.equal(deleted?.value?.op, "d", "a tombstone follows a delete");
        assert.deepEqual([deleted?.topic, deleted?.key], [c.topic, c.key]);
        assert.ok(!cdc.slice(i + 1).some((x) => x.topic === c.topic && x.key.id === c.key.id));
        return;
      }
      const { source, ts_ms, op } = c.value;
      const lag = (ts_ms as number) - source.ts_ms;
      if (op === "r") {
        // One snapshot: one transaction, LSN and start time; the connector emits its rows in turn.
        assert.ok(SNAPSHOT_MARKERS.includes(source.snapshot ?? ""), `${i}`);
        assert.ok(lag > 0 && (ts_ms as number) >= last.emitted, `${i}`);
        assert.ok(source.ts_ms >= last.ts && (source.lsn as number) >= last.lsn, `row ${i} in log order`);
      } else {
        assert.equal(source.snapshot, "false");
        assert.ok(lag > 0 && lag <= 10, `${i}`);
        assert.ok(source.ts_ms >= last.ts && (source.lsn as number) > last.lsn, `row ${i} in log order`);
      }
      last = { ts: source.ts_ms, lsn: source.lsn as number, emitted: ts_ms as number };
      if (op === "u") assert.equal(c.value.before, null, "no REPLICA IDENTITY FULL upstream");
      if (op === "d") assert.equal(c.value.after, null);
      assert.equal(c.key.id, (c.value.after ?? c.value.before)?.id);
    });
    assert.equal(
      cdc.filter((c) => c.value === null).length,
      rows(CDC_TOPICS.vendor, "d").length + rows(CDC_TOPICS.merchant, "d").length,
    );
  });

  it("is reproducible from the seed, and leaves the events as they are", () => {
    assert.deepEqual(digest(ds.cdc()), digest(generateDataset(opts).cdc()));
    assert.notEqual(digest(ds.cdc()).hash, digest(generateDataset({ ...opts, seed: 32 }).cdc()).hash);
    assert.deepEqual(digest(ds.events()), digest(plain.events()));
    assert.equal(plain.changes, null);
  });

  it("books exactly what the same events book without history; the refused moves make nothing cross-tenant", () => {
    const withHistory = expectedTotals(ds);
    const without = expectedTotals(plain);
    const { cdc: cdcWith, ...booksWith } = withHistory;
    const { cdc: cdcWithout, ...booksWithout } = without;
    assert.deepEqual(booksWith, booksWithout);
    assert.ok(withHistory.deadLetters.CROSS_TENANT > 0, "the bad events' own cross-tenant ones");
    assert.equal(cdcWith.total, ds.cdcCount);
    assert.equal(cdcWithout.total, plain.cdcCount);
    assert.deepEqual(cdcWith.refused, {
      ...cdcWithout.refused,
      [CDC_TOPICS.financeAccount]: ds.merchants.length,
    });
    assert.equal(cdcWith.tombstones[CDC_TOPICS.merchant], 1);
    assert.equal(cdcWith.tombstones[CDC_TOPICS.vendor], rows(CDC_TOPICS.vendor, "d").length);
    assert.equal(cdcWith.merchants, cdcWithout.merchants);
  });
});

/** The latest occurredAt among a data set's events. */
function latestEvent(ds: Dataset): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const i of ds.events()) if (i.event && i.event.occurredAt > latest) latest = i.event.occurredAt;
  return latest;
}

describe("expected totals", () => {
  for (const bad of [false, true]) {
    it(`are consistent${bad ? " with bad events" : ""}`, () => {
      const ds = generateDataset({ seed: 11, merchants: 8, events: 4_000, bad });
      const x = expectedTotals(ds);
      assert.equal(x.events.total, 4_000);
      assert.equal(
        Object.values(x.events.byTopic).reduce((a, b) => a + b, 0),
        4_000,
      );
      assert.equal(x.cdc.total, ds.cdcCount);
      assert.equal(x.cdc.seededAccounts, 8 * 7);
      for (const k of VOUCHER_KINDS) {
        assert.equal(x.postings[k], x.vouchers[k] + x.replays[k], k);
        assert.ok(x.vouchers[k] > 0, k);
        assert.ok(money(x.amounts[k]).greaterThan(0), k);
      }
      const vouchers = VOUCHER_KINDS.reduce((n, k) => n + x.vouchers[k], 0);
      assert.ok(x.ledgerLines >= 2 * vouchers);
      // Replays come only from second copies.
      const copies = x.events.byDelivery.REDELIVERY + x.events.byDelivery.REPUBLICATION;
      assert.ok(copies > 0);
      assert.ok(VOUCHER_KINDS.reduce((n, k) => n + x.replays[k], 0) <= copies * 6);
      const dead = Object.values(x.deadLetters).reduce((a, b) => a + b, 0);
      if (bad) assert.ok(Object.values(x.deadLetters).every((n) => n > 0));
      else assert.equal(dead, 0);
      // Every skip reason occurs.
      for (const [reason, n] of Object.entries(x.skips)) assert.ok(n > 0, reason);
    });
  }

  it("a voucher's second copy has the same content as the first (replays, never conflicts)", () => {
    const ds = generateDataset({ seed: 12, merchants: 5, events: 6_000 });
    const world = ExpectedWorld.of(ds);
    const seen = new Map<string, string>();
    let replays = 0;
    for (const item of ds.events()) {
      const o = expectedOutcome(item, world);
      if (o.deadLetter !== null) continue;
      for (const v of o.vouchers) {
        const content = `${v.amount.toFixed(4)}/${v.lines}`;
        const before = seen.get(v.key);
        if (before !== undefined) {
          replays++;
          assert.equal(content, before, v.key);
        } else seen.set(v.key, content);
      }
    }
    assert.ok(replays > 0);
    const x = expectedTotals(ds);
    assert.equal(
      VOUCHER_KINDS.reduce((n, k) => n + x.vouchers[k], 0),
      seen.size,
    );
  });

  it("agree, event by event, with what the posting rules book against the CDC-built tables", () => {
    const ds = generateDataset({ seed: 21, merchants: 10, events: 3_000, bad: true, badRate: 0.01 });
    const tables = new MaterializedTables();
    for (const c of ds.cdc()) applyCdc(tables, c as unknown as CdcRecord, quiet);
    const world = ExpectedWorld.of(ds);
    // The same events as if they had occurred after the history: the changed world then applies.
    const afterHistory = Math.max(...[...ds.cdc()].map((c) => c.value?.source.ts_ms ?? 0)) + 1;
    const changed = { UNRESOLVED: 0, INVALID_PAYLOAD: 0 };
    for (const item of ds.events()) {
      for (const it of [item, occurredAt(item, afterHistory)]) {
        const want = comparableOutcome(expectedOutcome(it, world));
        assert.deepEqual(
          pipelineOutcome(tables, it),
          want,
          `event ${it.seq} on ${it.topic} at ${it.event?.occurredAt}`,
        );
        if (it !== item && want.deadLetter !== comparableOutcome(expectedOutcome(item, world)).deadLetter) {
          if (want.deadLetter === "UNRESOLVED" || want.deadLetter === "INVALID_PAYLOAD")
            changed[want.deadLetter]++;
        }
      }
    }
    // Deleted vendors and merchant, archived accounts: refused after the history, booked before it.
    assert.ok(changed.UNRESOLVED > 0 && changed.INVALID_PAYLOAD > 0, JSON.stringify(changed));
  });
});

/** The item with its event restamped to `at` (garbage stays as it is). */
const occurredAt = (item: EventItem, at: number): EventItem =>
  item.event === null ? item : { ...item, event: { ...item.event, occurredAt: at } };

interface ComparableOutcome {
  deadLetter: string | null;
  vouchers: string[];
  skips: string[];
}

const sorted = (o: ComparableOutcome): ComparableOutcome => ({
  ...o,
  vouchers: [...o.vouchers].sort(),
  skips: [...o.skips].sort(),
});

function comparableOutcome(expected: ReturnType<typeof expectedOutcome>): ComparableOutcome {
  if (expected.deadLetter !== null) return { deadLetter: expected.deadLetter, vouchers: [], skips: [] };
  return sorted({
    deadLetter: null,
    vouchers: expected.vouchers.map((v) => `${v.key} ${v.amount.toFixed(4)} ${v.lines}`),
    skips: expected.skips,
  });
}

/** What the posting rules book for an item against the tables, as of its event's occurredAt. */
function pipelineOutcome(tables: MaterializedTables, item: EventItem): ComparableOutcome {
  if (item.event === null) return { deadLetter: "UNDECODABLE", vouchers: [], skips: [] };
  const rule = ruleFor(item.topic);
  const e = item.event;
  try {
    rule.validate(e);
    const ctx = resolveNow(tables, e, rule.needs(e));
    const r = rule.post(e, ctx, { eventId: e.eventId, topic: item.topic, partition: 0, offset: item.seq });
    return sorted({
      deadLetter: null,
      vouchers: r.vouchers.map((v) => `${v.idempotencyKey} ${v.amount.toFixed(4)} ${v.lines.length}`),
      skips: r.skips.map((s) => s.reason),
    });
  } catch (err) {
    if (!isPostingError(err)) throw err;
    return { deadLetter: err.reason, vouchers: [], skips: [] };
  }
}

describe("simulator encoding", () => {
  it("encodes records that decode, with the contract schemas, to the generated values", () => {
    const ds = generateDataset({ seed: 9, merchants: 4, events: 1_500, bad: true });
    const partitions = Object.fromEntries(SIM_TOPICS.map((t, i) => [t, 3 + i]));
    const ids = {
      value: Object.fromEntries(SIM_TOPICS.map((t, i) => [t, 100 + i])),
      key: Object.fromEntries(SIM_TOPICS.map((t, i) => [t, 200 + i])),
    } as never;
    const reference = new Map(SIM_TOPICS.map((t) => [t, contractType(valueSubject(t), isCdcTopic(t))]));
    const keyTypes = new Map(
      ALL_CDC_TOPICS.map((t) => [t as string, avro.Type.forSchema(loadSchema(keySubject(t)) as avro.Schema)]),
    );
    const encoder = new DatasetEncoder(ids, partitions, 10_000);
    const items: (EventItem | CdcItem)[] = [];
    for (const c of ds.cdc()) {
      encoder.cdc(c);
      items.push(c);
    }
    for (const e of ds.events()) {
      encoder.event(e);
      items.push(e);
    }
    const batches = [];
    while (encoder.size > 0) batches.push(encoder.take());
    let n = 0;
    let tombstones = 0;
    for (const batch of batches) {
      const buf = Buffer.from(batch.buffer);
      for (let i = 0; i < batch.count; i++, n++) {
        const m = batch.meta.subarray(i * META_FIELDS, (i + 1) * META_FIELDS);
        const [t, partition, ko, kl, vo, vl] = [...m] as number[];
        const item = items[n] as EventItem | CdcItem;
        const topic = SIM_TOPICS[t as number] as string;
        assert.equal(topic, item.topic);
        const key = buf.subarray(ko, (ko as number) + (kl as number));
        const value = buf.subarray(vo, (vo as number) + (vl as number));
        assert.equal(partition, partitionOf(key, partitions[topic] as number));
        if ("delivery" in item) {
          assert.equal(key.toString("utf8"), item.key);
          if (item.raw) {
            assert.deepEqual(value, item.raw);
            continue;
          }
        } else {
          assert.equal(key[0], 0);
          assert.equal(key.readInt32BE(1), 200 + (t as number));
          assert.deepEqual(key.subarray(5), keyTypes.get(topic)?.toBuffer(item.key));
          if (item.value === null) {
            assert.equal(vl, TOMBSTONE, "a tombstone has no value");
            tombstones++;
            continue;
          }
        }
        assert.equal(value[0], 0);
        assert.equal(value.readInt32BE(1), 100 + (t as number));
        const expected = reference.get(topic)?.toBuffer("delivery" in item ? item.event : item.value);
        assert.deepEqual(value.subarray(5), expected, `${topic} #${n}`);
      }
    }
    assert.equal(n, items.length);
    assert.ok(tombstones > 0);
  });

  it("partitions keys as Kafka's (and kafkajs') default partitioner", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 6, 7, 12]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
        partitionId: i,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 300; i++) {
        const key = Buffer.from(i % 3 === 0 ? `k${i}` : `${i}-${"xyzåé".repeat(i % 7)}-${i * 7919}`);
        const expected = partitioner({ topic: "t", partitionMetadata, message: { key, value: null } });
        assert.equal(partitionOf(key, partitions), expected, `${key} over ${partitions}`);
      }
    }
  });
});

describe("simulated CDC as Debezium 3.x writes it (the PostgreSQL connector 3.6)", () => {
  const ds = generateDataset({ seed: 5, merchants: 5, events: 2_000 });
  const cdc = [...ds.cdc()].filter((c) => c.value !== null).map(withValue);
  const snapshotCount = generateDataset({ ...ds.options, history: false }).cdcCount;
  const snapshot = cdc.slice(0, snapshotCount);
  const streamed = cdc.slice(snapshotCount);
  const SOURCE_FIELDS = [
    "version",
    "connector",
    "name",
    "ts_ms",
    "snapshot",
    "db",
    "sequence",
    "ts_us",
    "ts_ns",
    "schema",
    "table",
    "txId",
    "lsn",
    "xmin",
    "origin",
    "origin_lsn",
  ];
  const ENVELOPE_FIELDS = ["before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"];

  it("the contract schemas and the records have Debezium 3.x's fields, in its order; every added one optional", () => {
    for (const t of ALL_CDC_TOPICS) {
      const schema = loadSchema(valueSubject(t)) as {
        fields: { name: string; type: unknown; default?: unknown }[];
      };
      assert.deepEqual(
        schema.fields.map((f) => f.name),
        ENVELOPE_FIELDS,
        t,
      );
      const source = schema.fields.find((f) => f.name === "source")?.type as { fields: { name: string }[] };
      assert.deepEqual(
        source.fields.map((f) => f.name),
        SOURCE_FIELDS,
        t,
      );
      // Fields older runs' schemas lack: nullable with a null default (BACKWARD both ways round).
      const added = [
        ...schema.fields.filter((f) => ["transaction", "ts_us", "ts_ns"].includes(f.name)),
        ...(source.fields as { name: string; type: unknown; default?: unknown }[]).filter((f) =>
          ["sequence", "ts_us", "ts_ns", "xmin", "origin", "origin_lsn"].includes(f.name),
        ),
      ];
      assert.equal(added.length, 9, t);
      for (const f of added) {
        assert.equal(f.default, null, `${t} ${f.name}`);
        assert.equal((f.type as unknown[])[0], "null", `${t} ${f.name}`);
      }
    }
    for (const c of cdc) {
      assert.deepEqual(Object.keys(c.value), ENVELOPE_FIELDS);
      assert.deepEqual(Object.keys(c.value.source), SOURCE_FIELDS);
    }
  });

  it("encoded, they decode with the contract schemas (as the pipeline reads writer schemas) to the same values, ts_ns exact", () => {
    const partitions = Object.fromEntries(SIM_TOPICS.map((t) => [t, 3]));
    const ids = {
      value: Object.fromEntries(SIM_TOPICS.map((t, i) => [t, 100 + i])),
      key: Object.fromEntries(SIM_TOPICS.map((t, i) => [t, 200 + i])),
    } as never;
    const codec = new AvroCodec({ url: "http://127.0.0.1:9" });
    SIM_TOPICS.forEach((t, i) => {
      codec.adopt(100 + i, loadSchema(valueSubject(t)));
    });
    const encoder = new DatasetEncoder(ids, partitions, 100_000);
    for (const c of cdc) encoder.cdc(c);
    const batch = encoder.take();
    assert.equal(batch.count, cdc.length);
    const buf = Buffer.from(batch.buffer);
    cdc.forEach((c, n) => {
      const [vo, vl] = [...batch.meta.subarray(n * META_FIELDS + 4, n * META_FIELDS + 6)] as number[];
      const decoded = codec.decode<NonNullable<CdcItem["value"]>>(
        Buffer.from(buf.subarray(vo, (vo as number) + (vl as number))),
      );
      assert.equal(canonical(decoded), canonical(c.value), `#${n}`);
      assert.equal(typeof decoded.ts_ns, "bigint");
      assert.equal(typeof decoded.source.ts_ns, "bigint");
      assert.equal(decoded.source.ts_ns, c.value.source.ts_ns);
      assert.equal(decoded.ts_ns, c.value.ts_ns);
      assert.equal((decoded.source.ts_ns as bigint) / 1_000_000n, BigInt(decoded.source.ts_ms));
      assert.equal(Math.floor((decoded.source.ts_us as number) / 1000), decoded.source.ts_ms);
      assert.equal((decoded.ts_ns as bigint) / 1_000_000n, BigInt(decoded.ts_ms as number));
      assert.equal(Math.floor((decoded.ts_us as number) / 1000), decoded.ts_ms);
      assert.ok((decoded.ts_ns as bigint) > (decoded.source.ts_ns as bigint));
      assert.equal(decoded.transaction, null);
    });
  });

  it("source: the connector's name and version, txId and lsn on every record, sequence [last commit LSN, LSN]", () => {
    for (const c of cdc) {
      const s = c.value.source;
      assert.match(s.version, /^3\./);
      assert.equal(s.connector, "postgresql");
      assert.equal(s.name, "nx.seller");
      assert.equal(c.topic, `${s.name}.${s.schema}.${s.table}`);
      assert.equal(typeof s.txId, "number");
      assert.equal(typeof s.lsn, "number");
      assert.deepEqual([s.xmin, s.origin, s.origin_lsn], [null, null, null]);
      assert.equal(c.value.transaction, null, "no provide.transaction.metadata");
      const sequence = JSON.parse(s.sequence as string) as (string | null)[];
      assert.equal(sequence.length, 2);
      assert.equal(sequence[1], String(s.lsn));
      if (c.value.op === "r") assert.equal(sequence[0], null, "nothing streamed before the snapshot");
    }
    // Streamed: the first transaction after the snapshot has no commit before it; each later
    // one names the previous transaction's commit, after that transaction's rows.
    const firstTx = streamed[0]?.value.source.txId;
    let lastRowOfPreviousTx = Number.NEGATIVE_INFINITY;
    let tx = firstTx;
    let lastLsn = Number.NEGATIVE_INFINITY;
    for (const c of streamed) {
      const s = c.value.source;
      const [lastCommit] = JSON.parse(s.sequence as string) as (string | null)[];
      if (s.txId !== tx) {
        lastRowOfPreviousTx = lastLsn;
        tx = s.txId;
      }
      if (s.txId === firstTx) assert.equal(lastCommit, null);
      else {
        assert.ok(Number(lastCommit) > lastRowOfPreviousTx && Number(lastCommit) < (s.lsn as number));
      }
      lastLsn = s.lsn as number;
    }
    assert.ok(new Set(streamed.map((c) => c.value.source.txId)).size > 1);
  });

  it("the initial snapshot: first, first/last_in_data_collection per table, true, last; one transaction, LSN and source.ts_ms", () => {
    const markers = snapshot.map((c) => c.value.source.snapshot);
    assert.equal(markers[0], "first");
    assert.equal(markers.at(-1), "last");
    assert.equal(markers.filter((m) => m === "first").length, 1);
    assert.equal(markers.filter((m) => m === "last").length, 1);
    const tables = [...new Set(snapshot.map((c) => c.topic))];
    assert.deepEqual(tables, [
      CDC_TOPICS.merchant,
      CDC_TOPICS.financeAccount,
      CDC_TOPICS.vendor,
      CDC_TOPICS.purchaseOrder,
    ]);
    tables.forEach((t, k) => {
      const rows = snapshot.filter((c) => c.topic === t).map((c) => c.value.source.snapshot);
      assert.ok(rows.length > 2, t);
      assert.equal(rows[0], k === 0 ? "first" : "first_in_data_collection", t);
      assert.equal(rows.at(-1), k === tables.length - 1 ? "last" : "last_in_data_collection", t);
      assert.ok(
        rows.slice(1, -1).every((m) => m === "true"),
        t,
      );
    });
    for (const field of ["ts_ms", "ts_us", "ts_ns", "txId", "lsn"] as const) {
      assert.equal(new Set(snapshot.map((c) => c.value.source[field])).size, 1, field);
    }
    // The envelope's ts_ms: when the connector emitted each row, after the snapshot began.
    const emitted = snapshot.map((c) => c.value.ts_ms as number);
    assert.ok(
      emitted.every((t, i) => t > (snapshot[0]?.value.source.ts_ms as number) && t >= (emitted[i - 1] ?? t)),
    );
    assert.ok((emitted.at(-1) as number) > (emitted[0] as number));
    assert.ok(streamed.every((c) => c.value.source.snapshot === "false" && c.value.op !== "r"));
  });
});
