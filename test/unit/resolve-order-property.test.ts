import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ControlCode } from "../../src/domain/accounts.js";
import type { Needs } from "../../src/domain/context.js";
import type { CdcRecord } from "../../src/enrich/cdc.js";
import { type ResolvableEvent, resolveNow } from "../../src/enrich/resolve.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { PostingError } from "../../src/errors.js";
import { seededAccountId } from "../../src/ids.js";
import { CDC_TOPICS, type CdcTopic } from "../../src/topics.js";
import {
  accountRow,
  applyAll,
  change,
  deletion,
  merchantRow,
  type Op,
  poRow,
  type Row,
  tombstone,
  vendorRow,
} from "../support/cdc-rows.js";

/**
 * SPEC §5 "Time", the promise: the same topics give the same books whenever they are processed.
 * For random histories of CDC versions per entity (random commit times with collisions, c/r/u
 * rows, deletes and tombstones, rows naming another owner, invalid account types and statuses)
 * and random events, once the CDC is caught up each event resolves to the same context, or the
 * same error class, whatever the order in which rows of *different* keys were interleaved (rows
 * of one key keep their topic order), and whether the event was resolved before or after rows
 * that it does not reference arrived.
 */

const EPOCH = Date.UTC(2026, 0, 1);
/** Commit times and event times on one coarse grid, so that equal times happen often. */
const time = (tick: number) => EPOCH + tick * 1_000;
const TICK = fc.integer({ min: 0, max: 12 });

const MERCHANTS = ["m-1", "m-2", "m-3"] as const;
const VENDORS = ["v-1", "v-2"] as const;
const POS = ["po-1", "po-2"] as const;
const PLAIN_ACCOUNTS = ["a-1", "a-2"] as const;
/** Seeded ids that the account topic may also carry rows for (a renamed or archived CASH...). */
const SEEDED = [
  { id: seededAccountId("m-1", "CASH"), merchant: "m-1" },
  { id: seededAccountId("m-1", "COGS"), merchant: "m-1" },
  { id: seededAccountId("m-2", "CASH"), merchant: "m-2" },
] as const;
const CONTROL: readonly ControlCode[] = ["COGS", "INVENTORY"];
const merchantOfSeeded = new Map<string, string>(SEEDED.map((s) => [s.id, s.merchant]));

/** One step of one entity's history: a row (c/r/u) or a delete, at a commit time. */
type Step =
  | { kind: "row"; op: Op; tick: number; values: Record<string, unknown> }
  | { kind: "delete"; tick: number; tombstone: boolean };

const opArb = fc.constantFrom<Op>("c", "r", "u");
const stepArb = (values: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("row" as const), op: opArb, tick: TICK, values }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("delete" as const), tick: TICK, tombstone: fc.boolean() }),
    },
  );
const owner = fc.constantFrom(...MERCHANTS);
const historyArb = (values: fc.Arbitrary<Record<string, unknown>>) =>
  fc.array(stepArb(values), { maxLength: 4 });

const merchantValues = fc.record({
  currency: fc.constantFrom("VND", "VND", "USD"),
  name: fc.constantFrom("x", "y"),
});
/** A seeded id's rows name its derived owner or another merchant, half and half. */
const accountOwner = (id: string) => {
  const derived = merchantOfSeeded.get(id);
  return derived === undefined ? owner : fc.constantFrom(derived, derived === "m-1" ? "m-2" : "m-1");
};
const accountValues = (id: string) =>
  fc.record({
    merchant_id: accountOwner(id),
    code: fc.constantFrom("B1", "B2", null),
    name: fc.constantFrom("n1", "n2"),
    type: fc.constantFrom("MONEY", "MONEY", "CONTROL", "control"),
    status: fc.constantFrom("ACTIVE", "ACTIVE", "ARCHIVED", "CLOSED"),
  });
const vendorValues = fc.record({ merchant_id: owner, name: fc.constantFrom("Acme", "Beta") });
const poValues = fc.record({
  merchant_id: owner,
  code: fc.constantFrom("P1", "P2"),
  vendor_id: fc.constantFrom(...VENDORS),
});

interface Key {
  topic: CdcTopic;
  id: string;
}
const keyName = (k: Key) => `${k.topic}/${k.id}`;

/** Every key's history as the CDC records its topic carries, in topic order. */
type Histories = Map<string, CdcRecord[]>;

function recordsOf(key: Key, steps: readonly Step[], base: (id: string) => Row): CdcRecord[] {
  return steps.flatMap((s) =>
    s.kind === "row"
      ? [change(key.topic, s.op, { ...base(key.id), ...s.values, id: key.id }, time(s.tick))]
      : [deletion(key.topic, key.id, time(s.tick)), ...(s.tombstone ? [tombstone(key.topic, key.id)] : [])],
  );
}

const historiesArb = (accountIds: readonly string[]): fc.Arbitrary<Histories> =>
  fc
    .record({
      merchants: fc.tuple(...MERCHANTS.map(() => historyArb(merchantValues))),
      vendors: fc.tuple(...VENDORS.map(() => historyArb(vendorValues))),
      pos: fc.tuple(...POS.map(() => historyArb(poValues))),
      accounts: fc.tuple(...accountIds.map((id) => historyArb(accountValues(id)))),
    })
    .map(({ merchants, vendors, pos, accounts }) => {
      const h: Histories = new Map();
      const add = (topic: CdcTopic, ids: readonly string[], all: Step[][], base: (id: string) => Row) =>
        ids.forEach((id, i) => {
          const key = { topic, id };
          h.set(keyName(key), recordsOf(key, all[i] ?? [], base));
        });
      add(CDC_TOPICS.merchant, MERCHANTS, merchants, (id) => merchantRow(id));
      add(CDC_TOPICS.vendor, VENDORS, vendors, (id) => vendorRow(id, "m-1"));
      add(CDC_TOPICS.purchaseOrder, POS, pos, (id) => poRow(id, "m-1", "v-1"));
      add(CDC_TOPICS.financeAccount, accountIds, accounts, (id) => accountRow(id, "m-1"));
      return h;
    });

interface TestEvent {
  event: ResolvableEvent;
  needs: Needs;
}
const eventArb = (accountIds: readonly string[]): fc.Arbitrary<TestEvent> =>
  fc
    .record({
      merchantId: owner,
      tick: fc.integer({ min: 0, max: 14 }),
      currency: fc.constantFrom("VND", "USD"),
      accountIds: fc.subarray([...accountIds]),
      controlCodes: fc.subarray([...CONTROL]),
      purchaseOrderId: fc.option(fc.constantFrom(...POS), { nil: null }),
    })
    .map(({ merchantId, tick, currency, ...needs }) => ({
      event: { merchantId, occurredAt: time(tick), currency },
      needs,
    }));

/** The keys whose rows can change how `e` resolves. */
function relatedKeys(e: TestEvent, histories: Histories): Set<string> {
  const merchantKey = (id: string) => keyName({ topic: CDC_TOPICS.merchant, id });
  const accountKey = (id: string) => keyName({ topic: CDC_TOPICS.financeAccount, id });
  const keys = new Set([merchantKey(e.event.merchantId)]);
  for (const id of e.needs.accountIds) {
    keys.add(accountKey(id));
    const derivedFrom = merchantOfSeeded.get(id);
    if (derivedFrom) keys.add(merchantKey(derivedFrom));
  }
  for (const code of e.needs.controlCodes) keys.add(accountKey(seededAccountId(e.event.merchantId, code)));
  const po = e.needs.purchaseOrderId;
  if (po !== null) {
    const poKey = keyName({ topic: CDC_TOPICS.purchaseOrder, id: po });
    keys.add(poKey);
    for (const r of histories.get(poKey) ?? []) {
      const vendorId = r.value?.after?.vendor_id;
      if (typeof vendorId === "string") keys.add(keyName({ topic: CDC_TOPICS.vendor, id: vendorId }));
    }
  }
  return keys;
}

/** A resolved context in a comparable form, or the class of the error. */
function resolution(t: MaterializedTables, e: TestEvent): string {
  try {
    const ctx = resolveNow(t, e.event, e.needs);
    return JSON.stringify({
      accounts: [...ctx.accounts.entries()],
      control: [...ctx.control.entries()],
      purchaseOrder: ctx.purchaseOrder,
      vendor: ctx.vendor,
    });
  } catch (err) {
    if (err instanceof PostingError) return err.reason;
    throw err;
  }
}

/** Whole keys one after another, in the given topic order. */
function byTopic(histories: Histories, topics: readonly CdcTopic[]): CdcRecord[] {
  return topics.flatMap((topic) =>
    [...histories.entries()].filter(([k]) => k.startsWith(`${topic}/`)).flatMap(([, recs]) => recs),
  );
}

/** Merges the keys' histories: `picks` choose which key goes next; one key's rows keep their order. */
function interleave(histories: Histories, picks: readonly number[]): { key: string; record: CdcRecord }[] {
  const queues = [...histories.entries()]
    .map(([key, recs]) => ({ key, recs: [...recs] }))
    .filter((q) => q.recs.length > 0);
  const out: { key: string; record: CdcRecord }[] = [];
  let i = 0;
  while (queues.length > 0) {
    const at = (picks[i++] ?? 0) % queues.length;
    const q = queues[at] as (typeof queues)[number];
    out.push({ key: q.key, record: q.recs.shift() as CdcRecord });
    if (q.recs.length === 0) queues.splice(at, 1);
  }
  return out;
}

const TOPICS_FORWARD: readonly CdcTopic[] = [
  CDC_TOPICS.merchant,
  CDC_TOPICS.vendor,
  CDC_TOPICS.purchaseOrder,
  CDC_TOPICS.financeAccount,
];
const TOPICS_BACKWARD = [...TOPICS_FORWARD].reverse();

/** Events may reference every account, seeded or not, whichever of them have rows on the account topic. */
const REFERENCED = [...PLAIN_ACCOUNTS, ...SEEDED.map((s) => s.id)];

const caseArb = (accountsWithRows: readonly string[]) =>
  fc
    .record({
      histories: historiesArb(accountsWithRows),
      events: fc.array(eventArb(REFERENCED), { minLength: 1, maxLength: 6 }),
    })
    .chain(({ histories, events }) => {
      const rows = [...histories.values()].reduce((n, recs) => n + recs.length, 0);
      return fc.record({
        histories: fc.constant(histories),
        events: fc.constant(events),
        picks: fc.array(fc.nat(), { minLength: rows, maxLength: rows }),
        /** Per event, how many rows after its last related one it is resolved at. */
        delays: fc.array(fc.nat(), { minLength: events.length, maxLength: events.length }),
      });
    });

function checkOrderIndependence(accountsWithRows: readonly string[], numRuns: number) {
  fc.assert(
    fc.property(caseArb(accountsWithRows), ({ histories, events, picks, delays }) => {
      const tablesAfter = (records: readonly CdcRecord[]) => {
        const t = new MaterializedTables();
        applyAll(t, records);
        return t;
      };
      const forward = tablesAfter(byTopic(histories, TOPICS_FORWARD));
      const expected = events.map((e) => resolution(forward, e));

      const backward = tablesAfter(byTopic(histories, TOPICS_BACKWARD));
      assert.deepEqual(
        events.map((e) => resolution(backward, e)),
        expected,
        "topics applied in the reverse order",
      );

      // A random interleaving, each event resolved mid-stream once every row it references is in.
      const order = interleave(histories, picks);
      const resolveAt = events.map((e, i) => {
        const related = relatedKeys(e, histories);
        let earliest = 0;
        order.forEach((o, pos) => {
          if (related.has(o.key)) earliest = pos + 1;
        });
        return earliest + ((delays[i] ?? 0) % (order.length - earliest + 1));
      });
      const t = new MaterializedTables();
      const midStream: string[] = new Array(events.length);
      for (let pos = 0; pos <= order.length; pos++) {
        events.forEach((e, i) => {
          if (resolveAt[i] === pos) midStream[i] = resolution(t, e);
        });
        const next = order[pos];
        if (next) applyAll(t, [next.record]);
      }
      assert.deepEqual(
        events.map((e) => resolution(t, e)),
        expected,
        "once all CDC is applied, in a random interleaving",
      );
      assert.deepEqual(midStream, expected, "resolved before rows it does not reference arrived");
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? numRuns) },
  );
}

describe("resolution does not depend on processing order (SPEC §5: the same topics give the same books)", () => {
  it("for merchants, vendors, purchase orders and merchant-created accounts", () => {
    checkOrderIndependence(PLAIN_ACCOUNTS, 500);
  });

  it("also when the account topic carries rows for seeded account ids, some naming another owner", () => {
    checkOrderIndependence([...PLAIN_ACCOUNTS, ...SEEDED.map((s) => s.id)], 1_500);
  });
});
