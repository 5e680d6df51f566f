import assert from "node:assert/strict";
import { describe, it } from "node:test";
import kafkajs from "kafkajs";
import { deadLetterHeaders, OVERSIZE_HEADER } from "../../src/deadletter/headers.js";
import type { Needs, ResolvedContext } from "../../src/domain/context.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import {
  CrossTenantError,
  InvalidPayloadError,
  PostingFailedError,
  TransientInfraError,
} from "../../src/errors.js";
import type { PostingRule, SourceEvent } from "../../src/rules/index.js";
import type { Item, ItemBatch } from "../../src/topology/items.js";
import { type PublishDeps, publish } from "../../src/topology/publish.js";
import type { RecordSender } from "../../src/topology/record-sender.js";
import { POSTING_ATTEMPTS, post, resolve, validate } from "../../src/topology/stages.js";

const NEEDS: Needs = { accountIds: [], controlCodes: [], purchaseOrderId: null };
const CTX: ResolvedContext = { accounts: new Map(), control: new Map(), purchaseOrder: null, vendor: null };
const event = { eventId: "e1", occurredAt: 0, merchantId: "m", currency: "VND" } as unknown as SourceEvent;

function ruleThat(o: { validate?: () => void; post?: () => never }): PostingRule<SourceEvent> {
  return {
    topic: "inventory.adjusted",
    validate: o.validate ?? (() => {}),
    needs: () => NEEDS,
    post:
      o.post ??
      (() => ({ vouchers: [], skips: [{ reason: "ZERO_VALUE_DELTA", eventId: "e1", subject: null }] })),
  };
}

const item = (rule: PostingRule<SourceEvent>, stage: "decoded" | "resolved" = "decoded"): Item => ({
  record: {
    key: Buffer.from("k"),
    value: Buffer.from([0, 1, 2, 3]),
    headers: { trace: "t-1" },
    offset: "41",
  },
  origin: { eventId: "e1", topic: "inventory.adjusted", partition: 2, offset: 41 },
  state: stage === "decoded" ? { stage, event, rule } : { stage, event, rule, ctx: CTX },
});
const batchOf = (...items: Item[]): ItemBatch => ({
  topic: "inventory.adjusted",
  partition: 2,
  items,
  nextOffset: "42",
});

const deps = (sender: RecordSender): PublishDeps => ({
  sender,
  maxRecordBytes: 1_000_000,
  keepOversized: async () => assert.fail("nothing here is oversized"),
});

describe("topology stages: dead letter or retry, decided by error type", () => {
  it("turns a posting error into a dead-letter outcome for that event only", () => {
    const bad = ruleThat({
      validate: () => {
        throw new InvalidPayloadError("valueDelta has 5 places");
      },
    });
    const out = validate(batchOf(item(bad), item(ruleThat({}))));
    assert.equal(out.items[0]?.state.stage, "failed");
    assert.equal(out.items[1]?.state.stage, "validated");
  });

  it("lets a transient infrastructure error fail the batch, so it is retried and never dead-lettered", () => {
    const flaky = ruleThat({
      validate: () => {
        throw new TransientInfraError("registry unreachable");
      },
    });
    assert.throws(() => validate(batchOf(item(flaky))), TransientInfraError);
  });

  it("fails the batch on a broker or group error while waiting for references, never dead-letters the event", async () => {
    const missing = ruleThat({});
    missing.needs = () => ({ ...NEEDS, accountIds: ["not-yet"] });
    const waiting = item(missing);
    waiting.state = { stage: "validated", event, rule: missing };
    const heartbeat = async () => {
      throw new kafkajs.KafkaJSError("The coordinator is not aware of this member", { retriable: false });
    };
    await assert.rejects(
      resolve(new MaterializedTables(), { timeoutMs: 5_000, onWait: heartbeat }, batchOf(waiting)),
      TransientInfraError,
    );
  });

  it("tries a rule that throws an unexpected error a few times, then dead-letters that event only as POSTING_FAILED", () => {
    let calls = 0;
    const buggy = ruleThat({
      post: () => {
        calls++;
        throw new TypeError("cannot read properties of undefined");
      },
    });
    const out = post(batchOf(item(buggy, "resolved"), item(ruleThat({}), "resolved")));
    assert.equal(calls, POSTING_ATTEMPTS);
    const p = out.items[0]?.state;
    assert.equal(p?.stage, "failed");
    assert.ok(p?.stage === "failed" && p.error instanceof PostingFailedError);
    assert.match(p.error.message, /posting failed on inventory.adjusted-2@41: cannot read properties/);
    assert.equal(out.items[1]?.state.stage, "posted");
  });

  it("posts an event whose unexpected error does not come back on a later attempt", () => {
    let calls = 0;
    const flaky = ruleThat({
      validate: () => {
        if (++calls === 1) throw new RangeError("once");
      },
    });
    assert.equal(validate(batchOf(item(flaky))).items[0]?.state.stage, "validated");
  });

  it("publishes dead letters byte for byte with Kafka Connect's error headers, and returns skips", async () => {
    const sent: unknown[] = [];
    const sender = { send: async (tm: unknown) => void sent.push(tm) } as unknown as RecordSender;
    const failed: Item = {
      ...item(ruleThat({})),
      state: { stage: "failed", error: new CrossTenantError("account a of m2") },
    };
    const encoded: Item = {
      ...item(ruleThat({})),
      state: {
        stage: "encoded",
        kinds: [],
        skips: [{ reason: "ZERO_VALUE_DELTA", eventId: "e1", subject: null }],
        messages: [],
      },
    };
    const out = await publish(deps(sender), batchOf(failed, encoded));
    assert.deepEqual(
      out.skips.map((s) => s.reason),
      ["ZERO_VALUE_DELTA"],
    );
    assert.deepEqual(
      out.deadLetters.map((d) => d.reason),
      ["CROSS_TENANT"],
    );
    assert.deepEqual(sent, [
      [
        {
          topic: "finance.posting.dlq",
          messages: [
            {
              key: Buffer.from("k"),
              value: Buffer.from([0, 1, 2, 3]),
              headers: {
                trace: "t-1",
                "__connect.errors.topic": "inventory.adjusted",
                "__connect.errors.partition": "2",
                "__connect.errors.offset": "41",
                "__connect.errors.exception.class.name": "CrossTenantError",
                "__connect.errors.exception.message": "account a of m2",
                "finance.dlq.reason": "CROSS_TENANT",
              },
            },
          ],
        },
      ],
    ]);
  });

  it("refuses to publish a batch with an event left unfinished", async () => {
    const sender = { send: async () => {} } as unknown as RecordSender;
    await assert.rejects(publish(deps(sender), batchOf(item(ruleThat({})))), /left the topology unfinished/);
  });

  it("keeps a dead letter too large for its topic in Postgres, and puts a stub with its size on the topic", async () => {
    const sent: { topic: string; messages: { value: unknown; headers: Record<string, unknown> }[] }[][] = [];
    const kept: { value: Buffer | null; headers: Record<string, string>; reason: string }[] = [];
    const big: Item = {
      ...item(ruleThat({})),
      state: { stage: "failed", error: new InvalidPayloadError("eventId has 300000 characters") },
    };
    big.record = { ...big.record, value: Buffer.alloc(300_000, 1), headers: { h: Buffer.alloc(900_000, 2) } };
    const order: string[] = [];
    await publish(
      {
        sender: {
          send: async (tm: never) => {
            order.push("produce");
            sent.push(tm);
          },
        } as unknown as RecordSender,
        maxRecordBytes: 1_000_000,
        keepOversized: async (records) => {
          order.push("store");
          kept.push(...records);
        },
      },
      batchOf(big),
    );
    assert.deepEqual(order, ["store", "produce"], "stored before anything is produced or committed");
    assert.equal(kept.length, 1);
    assert.deepEqual(kept[0]?.value, big.record.value, "the whole value, byte for byte");
    assert.equal(kept[0]?.reason, "INVALID_PAYLOAD");
    assert.equal(kept[0]?.headers.h?.length, 900_000);
    const stub = sent[0]?.[0]?.messages[0];
    assert.equal(stub?.value, null);
    assert.ok(Number(stub?.headers[OVERSIZE_HEADER]) > 1_000_000);
    assert.equal(stub?.headers["finance.dlq.reason"], "INVALID_PAYLOAD");
  });

  it("names the reason in the headers exactly as CONTRACTS.md lists it", () => {
    const h = deadLetterHeaders(
      { eventId: "", topic: "t", partition: 0, offset: 7 },
      new InvalidPayloadError("x"),
    );
    assert.equal(h["finance.dlq.reason"], "INVALID_PAYLOAD");
  });
});
