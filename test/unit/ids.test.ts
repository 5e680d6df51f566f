import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { v5 as uuidv5 } from "uuid";
import { deterministicId, FINANCE_NAMESPACE, voucherIdOf } from "../../src/ids.js";

describe("deterministic ids (UUID v5 in the finance namespace)", () => {
  it("equal the uuid library's v5 of the name's UTF-8 bytes, for any name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (name) => {
        assert.equal(deterministicId(name), uuidv5(Buffer.from(name, "utf8"), FINANCE_NAMESPACE));
      }),
      { numRuns: 2_000 },
    );
  });

  it("are version 5, RFC variant, for keys of the contract's shape", () => {
    const key = "SALE_RECEIPT:m1:SALE_ORDER:so-1:attempt-1";
    assert.equal(voucherIdOf(key), uuidv5(key, FINANCE_NAMESPACE));
    assert.match(voucherIdOf(key), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("of the empty name and of a name with a lone surrogate (written as U+FFFD, as Buffer does)", () => {
    assert.equal(deterministicId(""), uuidv5(Buffer.alloc(0), FINANCE_NAMESPACE));
    assert.equal(deterministicId("a\ud800b"), uuidv5(Buffer.from("a\ufffdb", "utf8"), FINANCE_NAMESPACE));
  });
});
