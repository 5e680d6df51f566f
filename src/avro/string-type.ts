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

/** Up to this many characters a JS copy beats a native write (its call costs ~40 ns). */
const SHORT = 16;
/** Longer text is written natively while its length fits a varint of at most 2 bytes. */
const LONG_MAX = 2730; // 3 bytes per UTF-16 unit at most: 8,190 bytes, zig-zag below 2^14

/**
 * Avro `string`, written as avsc writes it but cheaper. avsc measures every string with
 * Buffer.byteLength (a native call) before writing it, then copies it in JS up to 64 bytes:
 * half of a voucher's encoding time, for ~18 strings, nearly all ASCII ids and codes.
 * - Short ASCII text is copied in one JS pass that also gives its length.
 * - Longer text goes through one native UTF-8 write, after a guess at the length prefix's
 *   size, moved by a byte when the guess was wrong.
 * Anything else, and text that is not well-formed UTF-16 (avsc writes a lone surrogate's own
 * bytes, a native write U+FFFD), goes to avsc. The bytes are avsc's (a property test compares
 * them); reads are avsc's.
 */
export class Utf8StringType extends avro.types.StringType {
  _write(tap: WriteTap, val: unknown): void {
    if (typeof val === "string") {
      const n = val.length;
      if (n <= SHORT ? writeShortAscii(tap, val) : n <= LONG_MAX && writeNative(tap, val)) return;
    }
    avscWrite.call(this, tap, val);
  }
}

/** Writes `s` with its length if it is all ASCII and fits; false (position unchanged) if not. */
function writeShortAscii(tap: WriteTap, s: string): boolean {
  const n = s.length;
  const buf = tap.buf;
  const start = tap.pos;
  if (start + 1 + n > buf.length) return false;
  let p = start + 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    buf[p++] = c;
  }
  buf[start] = n << 1; // zig-zag(n) = 2n, one varint byte below 64
  tap.pos = p;
  return true;
}

/** No lone surrogate (String#isWellFormed: Node 20, typed only from ES2024 on). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Writes `s` natively with its length, if it fits and is well-formed; false (position unchanged) if not. */
function writeNative(tap: WriteTap, s: string): boolean {
  const n = s.length;
  const buf = tap.buf;
  const start = tap.pos;
  const guess = n < 64 ? 1 : 2;
  if (start + guess + 3 * n > buf.length) return false;
  const bytes = buf.write(s, start + guess, "utf8");
  if (bytes !== n && !isWellFormed(s)) return false;
  const head = bytes < 64 ? 1 : 2;
  if (head !== guess) buf.copyWithin(start + head, start + guess, start + guess + bytes);
  if (head === 1) buf[start] = bytes << 1;
  else {
    buf[start] = ((bytes << 1) & 0x7f) | 0x80;
    buf[start + 1] = bytes >> 6;
  }
  tap.pos = start + head + bytes;
  return true;
}
