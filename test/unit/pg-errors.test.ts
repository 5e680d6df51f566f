import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransientInfraError } from "../../src/errors.js";
import { isContentRefusal } from "../../src/sinks/pg-errors.js";

const withCode = (code: unknown, message = "refused") => Object.assign(new Error(message), { code });

describe("isContentRefusal", () => {
  it("refuses the record for data exceptions, integrity constraints and program limits", () => {
    for (const code of [
      "22021", // invalid byte sequence (a NUL byte in text)
      "22008", // datetime field overflow
      "22003", // numeric value out of range
      "22P02", // invalid text representation (a voucher id that is no uuid)
      "23505", // unique violation
      "23514", // check violation
      "23502", // not-null violation
      "54000", // program limit exceeded: index row too large
    ]) {
      assert.equal(isContentRefusal(withCode(code)), true, code);
    }
  });

  it("never refuses a record for an outage, a broken deployment or an internal error", () => {
    for (const code of [
      "08006", // connection failure
      "08001",
      "57P01", // admin shutdown
      "57P03", // cannot connect now
      "53300", // too many connections
      "53100", // disk full
      "54001", // statement too complex: the limit is ours, not the record's
      "40001", // serialization failure
      "40P01", // deadlock
      "42P01", // undefined table
      "42601", // syntax error
      "3D000", // database does not exist
      "XX000", // internal error
      "ECONNREFUSED",
      "2200", // not a SQLSTATE
      "220001",
    ]) {
      assert.equal(isContentRefusal(withCode(code)), false, code);
    }
  });

  it("decides by SQLSTATE, never by message text", () => {
    assert.equal(
      isContentRefusal(withCode(undefined, 'invalid byte sequence for encoding "UTF8": 0x00')),
      false,
    );
    assert.equal(isContentRefusal(withCode(22021)), false);
    assert.equal(isContentRefusal(withCode("22021", "Connection terminated unexpectedly")), false);
    assert.equal(isContentRefusal(new TransientInfraError("write voucher batch: ECONNRESET")), false);
    assert.equal(isContentRefusal({ code: "23505", message: "not an Error" }), false);
    assert.equal(isContentRefusal(null), false);
  });
});
