import avro from "avsc";

/** The part of avsc's (untyped) Tap a string's write touches: its buffer and position. */
interface WriteTap {
  buf: Buffer;
  pos: number;
}

/** avsc's own string write (its Type's `_write`, which avsc's typings leave out). */
const avscWrite = (
  avro.types.StringType.prototype as unknown as { _write(this: avro.Type, tap: WriteTap, val: unknown): void }
)._write;

/** ASCII text up to this many characters is copied by ASCIIStringType itself (2-byte length). */
const ASCII_FAST_MAX = 8191;

/**
 * Avro `string` that writes ASCII text itself and hands anything else to avsc. avsc measures
 * every string with Buffer.byteLength (a native call) before writing it, which was half of a
 * voucher's encoding time: a voucher has ~18 strings, nearly all ASCII ids and codes. For ASCII
 * the byte length is the character count, so the zig-zag length and the bytes are written in
 * one pass; at the first non-ASCII character (or too little room) avsc writes the string again
 * from its start. Bytes are identical to avsc's (a property test compares them); reads are avsc's.
 */
export class ASCIIStringType extends avro.types.StringType {
  _write(tap: WriteTap, val: unknown): void {
    if (typeof val === "string" && val.length <= ASCII_FAST_MAX && writeAscii(tap, val)) return;
    avscWrite.call(this, tap, val);
  }
}

/** Writes `s` with its length if it is all ASCII and fits; false (position unchanged) if not. */
function writeAscii(tap: WriteTap, s: string): boolean {
  const n = s.length;
  const buf = tap.buf;
  const start = tap.pos;
  // zig-zag(n) = 2n: one varint byte below 64 characters, two below 8,192
  const head = n < 64 ? 1 : 2;
  if (start + head + n > buf.length) return false;
  let p = start + head;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[p++] = c;
  }
  if (head === 1) buf[start] = n << 1;
  else {
    buf[start] = ((n << 1) & 0x7f) | 0x80;
    buf[start + 1] = n >> 6;
  }
  tap.pos = p;
  return true;
}
