import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";

export type CopyValue = string | number | null;

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** One field in COPY text format: null is \N; backslash, tab, newline and CR are escaped. */
export function copyField(value: CopyValue): string {
  if (value === null) return "\\N";
  if (typeof value === "number") return String(value);
  return SPECIAL.test(value) ? value.replace(SPECIALS, (c) => ESCAPES[c] as string) : value;
}

const CHUNK_BYTES = 1 << 16;
const TAB = 0x09;
const NEWLINE = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
/**
 * Bytes a UTF-16 code unit can take in COPY text: UTF-8 takes at most 3 (a surrogate pair: 4
 * bytes for 2 units), an escape 2.
 */
const MAX_BYTES_PER_UNIT = 3;

/** Up to this many characters a JS copy beats a regex test and a native write (~40 ns each). */
const SHORT_FIELD = 24;

/**
 * Writes `text` as a COPY field at `at`; returns where it ends. A short field of ASCII without
 * COPY's specials, most fields, is copied byte by byte here: cheaper than a native UTF-8 write
 * and a regex test. A longer one (ids, keys, texts) is tested for specials and written natively
 * in one call. From the first other character on, a field is escaped and encoded natively.
 */
function writeText(chunk: Buffer, at: number, text: string): number {
  const n = text.length;
  if (n > SHORT_FIELD && !SPECIAL.test(text)) return at + chunk.write(text, at, "utf8");
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 || c === BACKSLASH || c === TAB || c === NEWLINE || c === CR) {
      return at + i + chunk.write(copyField(i === 0 ? text : text.slice(i)), at + i);
    }
    chunk[at + i] = c;
  }
  return at + n;
}

/**
 * COPY text written field by field into scratch space, each field encoded straight into it,
 * and taken out as a buffer of its size: rows kept until they are COPYed (the sink's vouchers
 * wait for their flush as their rows), then streamed in chunks (joinedChunks). One socket
 * write per row would dominate the cost of COPY; and joining the rows into one string and
 * encoding that measured twice as slow, most of it in flattening the joined string.
 */
export class CopyTextWriter {
  private scratch = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  /** Writes a field, then a tab: endRow turns the last one into the row's newline. */
  field(value: CopyValue): this {
    // null is \N, unescaped; a number's digits need no escapes
    const text = value === null ? "\\N" : typeof value === "number" ? String(value) : value;
    const room = text.length * MAX_BYTES_PER_UNIT + 1;
    if (this.used + room > this.scratch.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.used + room));
      this.scratch.copy(grown, 0, 0, this.used);
      this.scratch = grown;
    }
    const chunk = this.scratch;
    if (value === null) {
      chunk[this.used++] = BACKSLASH;
      chunk[this.used++] = 0x4e; // N
    } else this.used = writeText(chunk, this.used, text);
    chunk[this.used++] = TAB;
    return this;
  }

  /** Ends the row its fields since the last endRow make (at least one). */
  endRow(): this {
    this.scratch[this.used - 1] = NEWLINE;
    return this;
  }

  /** The rows written since the last take, in a buffer of their own. */
  take(): Buffer {
    const text = Buffer.from(this.scratch.subarray(0, this.used));
    this.used = 0;
    return text;
  }
}

/** Pieces of COPY text joined into chunks of about 64 KiB (a larger piece goes alone). */
export function* joinedChunks(pieces: Iterable<Buffer>, chunkBytes = CHUNK_BYTES): Generator<Buffer> {
  let run: Buffer[] = [];
  let bytes = 0;
  for (const piece of pieces) {
    if (bytes + piece.length > chunkBytes && run.length > 0) {
      yield Buffer.concat(run, bytes);
      run = [];
      bytes = 0;
    }
    run.push(piece);
    bytes += piece.length;
  }
  if (run.length > 0) yield Buffer.concat(run, bytes);
}

/**
 * COPY into `table (columns)` the rows given as COPY text (a CopyTextWriter's takes, in order);
 * identifiers are the caller's constants, never input.
 */
export async function copyRows(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  pieces: Iterable<Buffer>,
): Promise<void> {
  const sql = `COPY ${table} (${columns.join(", ")}) FROM STDIN`;
  await pipeline(Readable.from(joinedChunks(pieces)), client.query(copyFrom(sql)));
}
