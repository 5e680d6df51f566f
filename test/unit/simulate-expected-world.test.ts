import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PaymentSucceeded } from "../../src/domain/events.js";
import { seededAccountId } from "../../src/ids.js";
import { money } from "../../src/money.js";
import { CDC_TOPICS, type CdcTopic, SOURCE_TOPICS } from "../../src/topics.js";
import {
  type AccountRow,
  type CdcItem,
  type CdcRows,
  cdcMessage,
  type Op,
  tombstone,
} from "../../tools/simulate/cdc/debezium.js";
import type { Dataset, EventItem } from "../../tools/simulate/dataset.js";
import { ExpectedWorld, expectedOutcome } from "../oracle/expected.js";

/**
 * The expectations' world follows SPEC §5 on hand-written CDC histories: versions as of the
 * event, snapshot status, deletes, first owners, refused rows.
 */

const A = "merchant-a";
const B = "merchant-b";
const BANK = "account-bank";

let lsn = 0;
function row<T extends CdcTopic>(topic: T, op: Op, at: number, r: CdcRows[T]): CdcItem {
  lsn += 1;
  const rows = op === "d" ? { before: r, after: null } : { before: null, after: r };
  return cdcMessage(topic, op, rows, { tsMs: at, txId: lsn, lsn, lagMs: 5 });
}
const merchant = (op: Op, at: number, id: string, currency = "VND") =>
  row(CDC_TOPICS.merchant, op, at, { id, name: id, currency, status: "ACTIVE", created_at: null });
const account = (op: Op, at: number, fields: Partial<AccountRow> = {}) =>
  row(CDC_TOPICS.financeAccount, op, at, {
    id: BANK,
    merchant_id: A,
    code: "BANK_1",
    name: "Vietcombank",
    type: "MONEY",
    status: "ACTIVE",
    ...fields,
  });

const worldOf = (items: CdcItem[]) => ExpectedWorld.of({ cdc: () => items.values() } as unknown as Dataset);

/** A card payment of merchant A at `at`, routed to `accountId`. */
function cardPayment(at: number, accountId = BANK, merchantId = A): EventItem {
  const event: PaymentSucceeded = {
    eventId: `e-${at}`,
    occurredAt: at,
    merchantId,
    currency: "VND",
    saleOrderId: `so-${at}`,
    saleOrderCode: "SO-000001",
    orderTotal: money(100_000),
    customer: null,
    attempts: [
      {
        uid: "1",
        method: "CARD",
        amount: money(100_000),
        tendered: null,
        finance: { source: { id: accountId } },
      },
    ],
  };
  const base = { seq: 0, topic: SOURCE_TOPICS.paymentSuccess, key: event.saleOrderId, raw: null };
  return { ...base, event, delivery: "ORIGINAL", intended: null };
}
const outcome = (world: ExpectedWorld, item: EventItem) => expectedOutcome(item, world).deadLetter;

describe("expected world: versions as of the event (SPEC §5)", () => {
  it("a snapshot's status is not held against an event before it; a change's is", () => {
    const world = worldOf([merchant("r", 100, A), account("r", 100, { status: "ARCHIVED" })]);
    assert.equal(outcome(world, cardPayment(50)), null, "archived long after the money moved");
    assert.equal(outcome(world, cardPayment(150)), "INVALID_PAYLOAD");
    const changed = worldOf([
      merchant("r", 0, A),
      account("r", 0),
      account("u", 100, { status: "ARCHIVED" }),
    ]);
    assert.equal(outcome(changed, cardPayment(99)), null);
    assert.equal(outcome(changed, cardPayment(100)), "INVALID_PAYLOAD", "in force from its commit time on");
    const created = worldOf([merchant("r", 0, A), account("c", 100, { status: "ARCHIVED" })]);
    assert.equal(outcome(created, cardPayment(50)), "INVALID_PAYLOAD", "a created row's status counts");
  });

  it("owners never change: a move is refused, also across a delete and re-create", () => {
    const world = worldOf([
      merchant("r", 0, A),
      merchant("r", 0, B),
      account("r", 0),
      account("u", 100, { merchant_id: B }),
      account("d", 200),
      tombstone(CDC_TOPICS.financeAccount, BANK),
      account("c", 300, { merchant_id: B }),
      account("c", 400),
    ]);
    assert.equal(world.refused[CDC_TOPICS.financeAccount], 2);
    assert.equal(world.tombstones[CDC_TOPICS.financeAccount], 1);
    assert.equal(world.messages[CDC_TOPICS.financeAccount], 6);
    assert.equal(outcome(world, cardPayment(150)), null, "the refused move changes nothing");
    assert.equal(outcome(world, cardPayment(150, BANK, B)), "CROSS_TENANT");
    assert.equal(outcome(world, cardPayment(250)), "UNRESOLVED", "deleted before the event");
    assert.equal(outcome(world, cardPayment(350)), "UNRESOLVED", "the re-create under B was refused");
    assert.equal(outcome(world, cardPayment(450)), null, "re-created by its first owner");
  });

  it("account rows outside CONTRACTS' types and statuses are refused, never guessed", () => {
    const world = worldOf([
      merchant("r", 0, A),
      account("r", 0, { type: "LIABILITY" }),
      account("u", 10, { status: "CLOSED" }),
    ]);
    assert.equal(world.refused[CDC_TOPICS.financeAccount], 2);
    assert.equal(outcome(world, cardPayment(50)), "UNRESOLVED");
  });

  it("seeded accounts are owned by derivation from the merchant's first version", () => {
    const cash = seededAccountId(A, "CASH");
    const world = worldOf([
      account("r", 0, { id: cash, merchant_id: B, code: "CASH" }),
      account("u", 200, { id: cash, code: "CASH", status: "ARCHIVED" }),
      merchant("r", 100, A),
      merchant("r", 100, B),
    ]);
    assert.equal(world.refused[CDC_TOPICS.financeAccount], 1, "another owner for a seeded id");
    assert.equal(outcome(world, cardPayment(150, cash)), null);
    assert.equal(outcome(world, cardPayment(250, cash)), "INVALID_PAYLOAD");
    assert.equal(outcome(world, cardPayment(150, cash, B)), "CROSS_TENANT");
  });

  it("a deleted merchant's events before the delete book; after it they are unresolved", () => {
    const world = worldOf([
      merchant("r", 0, A),
      account("r", 0),
      merchant("d", 100, A),
      tombstone(CDC_TOPICS.merchant, A),
    ]);
    assert.equal(outcome(world, cardPayment(50)), null);
    assert.equal(outcome(world, cardPayment(150)), "UNRESOLVED");
    assert.equal(world.merchantCount, 1, "it keeps its seeded accounts");
    assert.ok(world.asOf(150).account(seededAccountId(A, "CASH")), "its control accounts stay in force");
  });

  it("an event in another currency than the merchant's as of the event is invalid", () => {
    const world = worldOf([merchant("r", 0, A), account("r", 0), merchant("u", 100, A, "USD")]);
    assert.equal(outcome(world, cardPayment(50)), null);
    assert.equal(outcome(world, cardPayment(150)), "INVALID_PAYLOAD");
  });

  it("the worst problem of an event names its dead letter", () => {
    const world = worldOf([merchant("r", 0, B), account("r", 0, { merchant_id: B })]);
    // Merchant A unknown (UNRESOLVED) and B's account (CROSS_TENANT): never posted to either.
    assert.equal(outcome(world, cardPayment(50)), "CROSS_TENANT");
  });
});
