import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Needs, ResolvedContext } from "../../src/domain/context.js";
import { CrossTenantError, InvalidPayloadError, TransientInfraError } from "../../src/errors.js";
import type { PostingRule, SourceEvent } from "../../src/rules/index.js";
import type { Item, ItemBatch } from "../../src/topology/items.js";
import { deadLetterHeaders, publish } from "../../src/topology/publish.js";
import type { RecordSender } from "../../src/topology/record-sender.js";
import { post, validate } from "../../src/topology/stages.js";

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
  progress: stage === "decoded" ? { stage, event, rule } : { stage, event, rule, ctx: CTX },
});
const batchOf = (...items: Item[]): ItemBatch => ({
  topic: "inventory.adjusted",
  partition: 2,
  items,
  nextOffset: "42",
});

describe("topology stages: dead letter or retry, decided by error type", () => {
  it("turns a posting error into a dead-letter outcome for that event only", () => {
    const bad = ruleThat({
      validate: () => {
        throw new InvalidPayloadError("valueDelta has 5 places");
      },
    });
    const out = validate(batchOf(item(bad), item(ruleThat({}))));
    assert.equal(out.items[0]?.progress.stage, "failed");
    assert.equal(out.items[1]?.progress.stage, "validated");
  });

  it("lets a transient infrastructure error fail the batch, so it is retried and never dead-lettered", () => {
    const flaky = ruleThat({
      validate: () => {
        throw new TransientInfraError("registry unreachable");
      },
    });
    assert.throws(() => validate(batchOf(item(flaky))), TransientInfraError);
  });

  it("treats an exception from a posting rule that is not a posting error as a bug: the batch fails", () => {
    const buggy = ruleThat({
      post: () => {
        throw new Error("unbalanced voucher");
      },
    });
    assert.throws(
      () => post(batchOf(item(buggy, "resolved"))),
      /posting rule failed on inventory.adjusted@41/,
    );
  });

  it("publishes dead letters byte for byte with Kafka Connect's error headers, and returns skips", async () => {
    const sent: unknown[] = [];
    const sender = { send: async (tm: unknown) => void sent.push(tm) } as unknown as RecordSender;
    const failed: Item = {
      ...item(ruleThat({})),
      progress: { stage: "failed", error: new CrossTenantError("account a of m2") },
    };
    const posted: Item = {
      ...item(ruleThat({})),
      progress: {
        stage: "posted",
        event,
        result: { vouchers: [], skips: [{ reason: "ZERO_VALUE_DELTA", eventId: "e1", subject: null }] },
      },
    };
    const out = await publish(sender, {} as never, 1, batchOf(failed, posted));
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
    await assert.rejects(
      publish(sender, {} as never, 1, batchOf(item(ruleThat({})))),
      /left the topology unfinished/,
    );
  });

  it("names the reason in the headers exactly as CONTRACTS.md lists it", () => {
    const h = deadLetterHeaders(
      { eventId: "", topic: "t", partition: 0, offset: 7 },
      new InvalidPayloadError("x"),
    );
    assert.equal(h["finance.dlq.reason"], "INVALID_PAYLOAD");
  });
});
