import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceType, VoucherKind } from "../../src/domain/voucher.js";
import { voucherIdOf } from "../../src/ids.js";
import { saleReceiptRule } from "../../src/rules/sale-receipt.js";
import { escapeKeyPart, idempotencyKey, unescapedKey } from "../../src/rules/voucher-builder.js";
import { card, paymentSucceeded, postEvent } from "./fixtures/rules.js";

type Parts = [VoucherKind, string, SourceType, string, string?];

/** SPEC §3 by hand: each part after the kind escaped, `%` → `%25` first, then `:` → `%3A`. */
const keyCases: [name: string, parts: Parts, key: string][] = [
  [
    "UUID ids keep the keys they always had",
    [
      "SALE_RECEIPT",
      "5f0c7a5e-2b1d-4c8e-9a57-0b6f3c1d2e4f",
      "SALE_ORDER",
      "0d4e6c2a-8f1b-4a3c-b5d7-9e2f1a3c5b7d",
      "c3a1e5f7-9b2d-4f6a-8c0e-1d3b5a7c9e2f",
    ],
    "SALE_RECEIPT:5f0c7a5e-2b1d-4c8e-9a57-0b6f3c1d2e4f:SALE_ORDER:0d4e6c2a-8f1b-4a3c-b5d7-9e2f1a3c5b7d:c3a1e5f7-9b2d-4f6a-8c0e-1d3b5a7c9e2f",
  ],
  [
    "plain ids, no sub-id",
    ["PURCHASE_PAYMENT", "m-1", "PURCHASE_ORDER", "po-1"],
    "PURCHASE_PAYMENT:m-1:PURCHASE_ORDER:po-1",
  ],
  [
    "other punctuation and non-ASCII are left alone",
    ["INVENTORY_ADJUSTMENT", "m/1 #2", "INVENTORY_TRACKING", "kho-hàng_1.2;3=4&5?6+7"],
    "INVENTORY_ADJUSTMENT:m/1 #2:INVENTORY_TRACKING:kho-hàng_1.2;3=4&5?6+7",
  ],
  [
    "order SO-H1:A, attempt 1",
    ["SALE_RECEIPT", "m-1", "SALE_ORDER", "SO-H1:A", "1"],
    "SALE_RECEIPT:m-1:SALE_ORDER:SO-H1%3AA:1",
  ],
  [
    "order SO-H1, attempt A:1",
    ["SALE_RECEIPT", "m-1", "SALE_ORDER", "SO-H1", "A:1"],
    "SALE_RECEIPT:m-1:SALE_ORDER:SO-H1:A%3A1",
  ],
  [
    "% and : in the merchant id",
    ["SALE_COGS", "m%:1", "SALE_ORDER", "so", "a"],
    "SALE_COGS:m%25%3A1:SALE_ORDER:so:a",
  ],
  [
    "an id that already looks escaped is escaped again, not taken as an escape",
    ["SALE_COGS", "m-1", "SALE_ORDER", "SO%3A1", "%25"],
    "SALE_COGS:m-1:SALE_ORDER:SO%253A1:%2525",
  ],
  [
    "only colons and percent signs",
    ["SALE_CHANGE_RETURN", ":", "SALE_ORDER", "%", "::%%"],
    "SALE_CHANGE_RETURN:%3A:SALE_ORDER:%25:%3A%3A%25%25",
  ],
];

describe("idempotencyKey", () => {
  for (const [name, parts, key] of keyCases) {
    it(name, () => {
      assert.equal(idempotencyKey(...parts), key);
    });
  }

  it("unescapedKey gives back the parts joined as versions before escaping did", () => {
    for (const [name, parts] of keyCases) {
      const legacy = parts.filter((p) => p !== undefined).join(":");
      assert.equal(unescapedKey(idempotencyKey(...parts)), legacy, name);
    }
  });

  it("a key differs from its unescaped form exactly when some id contains : or %", () => {
    for (const [name, parts] of keyCases) {
      const key = idempotencyKey(...parts);
      const hasSpecial = parts.slice(1).some((p) => p !== undefined && /[:%]/.test(p));
      assert.equal(unescapedKey(key) !== key, hasSpecial, name);
    }
  });

  it("every key is distinct, and so is every voucher id", () => {
    const keys = keyCases.map(([, parts]) => idempotencyKey(...parts));
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(keys.map(voucherIdOf)).size, keys.length);
  });

  it("escapeKeyPart: % first, then :, upper-case hex, nothing else", () => {
    const table: [string, string][] = [
      ["", ""],
      ["abc", "abc"],
      ["a:b", "a%3Ab"],
      ["a%b", "a%25b"],
      ["%3A", "%253A"],
      ["%3a", "%253a"],
      ["a b/c?d#e", "a b/c?d#e"],
      ["😀:😀", "😀%3A😀"],
    ];
    for (const [part, escaped] of table) assert.equal(escapeKeyPart(part), escaped, part);
  });
});

describe("documents whose ids contain ':' are two vouchers", () => {
  const receiptOf = (saleOrderId: string, uid: string) => {
    const [v] = postEvent(
      saleReceiptRule,
      paymentSucceeded({ saleOrderId, attempts: [card(uid, "10")] }),
    ).vouchers;
    assert.ok(v);
    return v;
  };

  it("order SO-H1:A attempt 1 and order SO-H1 attempt A:1 get different keys and voucher ids", () => {
    const a = receiptOf("SO-H1:A", "1");
    const b = receiptOf("SO-H1", "A:1");
    assert.equal(a.idempotencyKey, "SALE_RECEIPT:m-1:SALE_ORDER:SO-H1%3AA:1");
    assert.equal(b.idempotencyKey, "SALE_RECEIPT:m-1:SALE_ORDER:SO-H1:A%3A1");
    assert.notEqual(a.voucherId, b.voucherId);
    assert.equal(a.voucherId, voucherIdOf(a.idempotencyKey));
    assert.equal(b.voucherId, voucherIdOf(b.idempotencyKey));
    // before escaping both were this one key, and the second was taken for a replay of the first
    assert.equal(unescapedKey(a.idempotencyKey), "SALE_RECEIPT:m-1:SALE_ORDER:SO-H1:A:1");
    assert.equal(unescapedKey(b.idempotencyKey), unescapedKey(a.idempotencyKey));
  });

  it("a merchant id with % and : is escaped in the voucher's key", () => {
    const [v] = postEvent(saleReceiptRule, paymentSucceeded({ merchantId: "m%:1" })).vouchers;
    assert.equal(v?.idempotencyKey, "SALE_RECEIPT:m%25%3A1:SALE_ORDER:so-1:att-1");
    assert.equal(v?.merchantId, "m%:1");
  });
});
