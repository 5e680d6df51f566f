import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunksOf } from "../../src/topology/record-sender.js";

const msg = (i: number, bytes: number) => ({ key: `k${i}`, value: Buffer.alloc(bytes, i) });

describe("producing in bounded requests", () => {
  it("keeps a small batch in one request", () => {
    const chunks = chunksOf([{ topic: "a", messages: [msg(1, 10), msg(2, 10)] }]);
    assert.equal(chunks.length, 1);
  });

  it("splits a large batch below the size limit, keeping every record once and in order", () => {
    const messages = Array.from({ length: 100 }, (_, i) => msg(i, 1000));
    const chunks = chunksOf(
      [
        { topic: "vouchers", messages },
        { topic: "dlq", messages: [msg(999, 10)] },
      ],
      10_000,
    );
    assert.ok(chunks.length >= 10);
    for (const c of chunks) {
      const bytes = c.flatMap((t) => t.messages).reduce((n, m) => n + (m.value as Buffer).length + 64, 0);
      assert.ok(bytes <= 10_000 + 1064, `chunk of ${bytes} bytes`);
    }
    const vouchers = chunks.flatMap((c) =>
      c.filter((t) => t.topic === "vouchers").flatMap((t) => t.messages),
    );
    assert.deepEqual(
      vouchers.map((m) => m.key),
      messages.map((m) => m.key),
    );
    assert.equal(chunks.flatMap((c) => c.filter((t) => t.topic === "dlq")).length, 1);
  });

  it("sends a record larger than the limit on its own rather than dropping it", () => {
    const chunks = chunksOf([{ topic: "a", messages: [msg(1, 50), msg(2, 5000), msg(3, 50)] }], 1000);
    assert.deepEqual(
      chunks.map((c) => c[0]?.messages.map((m) => m.key)),
      [["k1"], ["k2"], ["k3"]],
    );
  });

  it("makes no request for nothing", () => {
    assert.deepEqual(chunksOf([]), []);
  });
});
