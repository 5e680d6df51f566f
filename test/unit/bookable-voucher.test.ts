import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { bookableVoucher } from "../../src/sinks/bookable-voucher.js";
import { contentHash } from "../../src/sinks/content-hash.js";
import { copyField } from "../../src/sinks/copy.js";
import { type VoucherJson, voucherJson } from "../../src/sinks/voucher-json.js";
import { sampleVoucher } from "../support/vouchers.js";

const v = voucherJson(sampleVoucher("bk-1"));

describe("a bookable voucher", () => {
  it("holds its finance.voucher row (content hash last) and its ledger lines' rows as COPY text", () => {
    const b = bookableVoucher(v);
    const leading = [
      "voucherId",
      "idempotencyKey",
      "merchantId",
      "type",
      "kind",
      "category",
      "currency",
    ] as const;
    const voucherRow = [
      ...leading.map((field) => v[field]),
      v.amount,
      v.party.type,
      v.party.id,
      v.party.name?.en ?? null,
      v.party.name?.vi ?? null,
      v.reason.en,
      v.reason.vi,
      v.source.type,
      v.source.id,
      v.source.code,
      v.origin.eventId,
      v.origin.topic,
      v.origin.partition,
      v.origin.offset,
      new Date(v.occurredAt).toISOString(),
      contentHash(v),
    ];
    const lineRows = v.lines.map((l) => [
      v.voucherId,
      l.lineNo,
      l.accountId,
      l.accountCode,
      l.side,
      l.amount,
    ]);
    const text = (rows: unknown[][]) =>
      rows.map((r) => `${r.map((f) => copyField(f as string | number | null)).join("\t")}\n`).join("");
    assert.equal(b.row.toString(), text([voucherRow]));
    assert.equal(b.lineRows.toString(), text(lineRows));
    assert.equal(b.hash, contentHash(v));
    assert.deepEqual(
      [b.voucherId, b.idempotencyKey, b.kind, b.occurredAt],
      [v.voucherId, v.idempotencyKey, v.kind, v.occurredAt],
    );
    assert.equal(b.json(), v);
  });

  it("reads the whole voucher again when asked, and keeps no reference to the one it was made of", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let reads = 0;
    const read = (): VoucherJson => {
      reads++;
      return voucherJson(sampleVoucher("bk-2"));
    };
    let original: VoucherJson | null = read();
    const gone = new WeakRef(original);
    const b = bookableVoucher(original, read);
    original = null;
    // WeakRef targets live until the end of the current job
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(gone.deref(), undefined, "the decoded voucher would outlive the young generation");
    assert.equal(b.json().idempotencyKey, voucherJson(sampleVoucher("bk-2")).idempotencyKey);
    assert.equal(reads, 2);
  });
});
