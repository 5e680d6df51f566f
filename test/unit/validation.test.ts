import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidPayloadError } from "../../src/errors.js";
import {
  requireId,
  requireOptionalId,
  requireOptionalText,
  requireText,
  requireTimestamp,
  validateEnvelope,
} from "../../src/rules/validation.js";

const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const envelope = { eventId: "e", occurredAt: 0, merchantId: "m", currency: "VND" };

/** CONTRACTS "Field limits", one row per sentence of it. */
describe("field limits at the boundary (CONTRACTS)", () => {
  const cases: [string, () => unknown, boolean][] = [
    // identifiers: 1–255 characters, no control characters
    ["id of 1 character", () => requireId("x", "id"), true],
    ["id of 255 characters", () => requireId("x".repeat(255), "id"), true],
    ["id of 255 four-byte characters", () => requireId("😀".repeat(255), "id"), true],
    ["id of 256 characters", () => requireId("x".repeat(256), "id"), false],
    ["id of 100 KB", () => requireId("x".repeat(100_000), "id"), false],
    ["empty id", () => requireId("", "id"), false],
    ["blank id", () => requireId("   ", "id"), false],
    ["id with NUL", () => requireId("a\u0000b", "id"), false],
    ["id with a newline", () => requireId("a\nb", "id"), false],
    ["id with DEL", () => requireId("a\u007fb", "id"), false],
    ["id with a C1 control", () => requireId("a\u0085b", "id"), false],
    ["id with unicode (RTL, combining, U+FFFD)", () => requireId("مرحبا-é-\uFFFD", "id"), true],
    ["id that is not a string", () => requireId(42, "id"), false],
    ["absent optional code", () => requireOptionalId(null, "code"), true],
    ["empty optional code", () => requireOptionalId("", "code"), false],
    // free text: at most 1,000 characters, no NUL
    ["empty text", () => requireText("", "name"), true],
    ["text of 1,000 characters", () => requireText("ư".repeat(1_000), "name"), true],
    ["text of 1,001 characters", () => requireText("a".repeat(1_001), "name"), false],
    ["text with line breaks and tabs", () => requireText("line 1\nline 2\tend", "name"), true],
    ["text with NUL", () => requireText("a\u0000", "name"), false],
    ["absent optional text", () => requireOptionalText(null, "reason"), true],
    // occurredAt: 1970-01-01 .. 9999-12-31 UTC
    ["occurredAt 0", () => requireTimestamp(0, "occurredAt"), true],
    ["occurredAt on the last instant", () => requireTimestamp(LAST_INSTANT, "occurredAt"), true],
    ["occurredAt one ms after", () => requireTimestamp(LAST_INSTANT + 1, "occurredAt"), false],
    ["occurredAt before 1970", () => requireTimestamp(-1, "occurredAt"), false],
    ["occurredAt beyond 2^53 (decoded as bigint)", () => requireTimestamp(2n ** 60n, "occurredAt"), false],
    ["occurredAt not an integer", () => requireTimestamp(1.5, "occurredAt"), false],
    // currency: three letters A–Z
    ["currency VND", () => validateEnvelope({ ...envelope }), true],
    ["currency vnd", () => validateEnvelope({ ...envelope, currency: "vnd" }), false],
    ["currency 'VND '", () => validateEnvelope({ ...envelope, currency: "VND " }), false],
    ["currency VN", () => validateEnvelope({ ...envelope, currency: "VN" }), false],
    ["envelope with a bad eventId", () => validateEnvelope({ ...envelope, eventId: "\u0000" }), false],
  ];
  for (const [name, check, valid] of cases) {
    it(`${valid ? "accepts" : "refuses"} ${name}`, () => {
      if (valid) check();
      else assert.throws(check, InvalidPayloadError);
    });
  }

  it("names the field and the limit in the message", () => {
    assert.throws(
      () => requireId("x".repeat(300), "attempts[1].uid"),
      /attempts\[1\]\.uid has 300 characters \(at most 255\)/,
    );
  });
});
