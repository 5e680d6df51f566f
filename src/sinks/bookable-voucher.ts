import type { VoucherKind } from "../domain/voucher.js";
import { contentHash } from "./content-hash.js";
import { CopyTextWriter } from "./copy.js";
import { LINE_COLUMNS, VOUCHER_COLUMNS } from "./voucher-columns.js";
import type { VoucherJson } from "./voucher-json.js";

/** Every bookable voucher's rows are written here and taken at once. */
const text = new CopyTextWriter();

/**
 * A writable voucher as the sink holds it until its flush: its rows already written as COPY
 * text, its content hash, and the few fields the writer decides by. Not the voucher's object
 * tree: thousands of vouchers wait for each flush, and as objects they outlived the young
 * generation, so each was copied by every scavenge and then promoted, to be marked and swept
 * later; the sink spent a fifth of its CPU in the garbage collector. The whole voucher is
 * read again only on the rare paths that need it (a content conflict, a legacy key).
 */
export interface BookableVoucher {
  readonly voucherId: string;
  readonly idempotencyKey: string;
  readonly kind: VoucherKind;
  readonly occurredAt: number;
  /** contentHash of the voucher. */
  readonly hash: string;
  /** Its finance.voucher row as COPY text, the content hash last (VOUCHER_ROW). */
  readonly row: Buffer;
  /** Its finance.ledger_line rows as COPY text, each led by the voucher id (LINE_ROW). */
  readonly lineRows: Buffer;
  /** The whole voucher, as it was given. */
  json(): VoucherJson;
}

/**
 * A voucher found writable (unwritableReason is null) as the sink holds it; `json` gives it
 * whole again when asked (by default the object itself is kept: for callers with few vouchers).
 */
export function bookableVoucher(v: VoucherJson, json: () => VoucherJson = () => v): BookableVoucher {
  const hash = contentHash(v);
  for (const [, , value] of VOUCHER_COLUMNS) text.field(value(v));
  const row = text.field(hash).endRow().take();
  for (const l of v.lines) {
    text.field(v.voucherId);
    for (const [, , value] of LINE_COLUMNS) text.field(value(l));
    text.endRow();
  }
  return {
    voucherId: v.voucherId,
    idempotencyKey: v.idempotencyKey,
    kind: v.kind,
    occurredAt: v.occurredAt,
    hash,
    row,
    lineRows: text.take(),
    json,
  };
}
