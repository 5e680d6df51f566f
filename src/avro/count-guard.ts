import type avro from "avsc";

/**
 * Most items of zero-size types (`null`, empty records, `fixed` of size 0) one record may
 * claim in all its arrays together. Items that take at least one byte need no such cap: the
 * bytes left bound them.
 */
export const ZERO_SIZE_ITEMS_LIMIT = 65_536;

/** Longest varint a 64-bit long takes. */
const MAX_VARINT_BYTES = 10;

/** Why a body is refused before avsc reads it. */
export class CountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CountError";
  }
}

/**
 * Checks an Avro body against its writer type before avsc decodes it, and throws a CountError
 * when a count cannot be true: avsc trusts every array and map block count, so five bytes
 * claiming 10^15 items of `array<null>` loop in its decoder for minutes, and a large count of
 * anything is allocated before the bytes run out. The check walks the body once, as the
 * decoder will, and refuses
 * - a block whose items (of at least one byte each) could not fit in the bytes left,
 * - more than ZERO_SIZE_ITEMS_LIMIT items of zero-size types in the whole record,
 * - a negative block count (Avro's "count, then byte size") whose size is negative, past the
 *   end, or not the size of its items (avsc skips by it when a reader drops the field, and a
 *   negative size would send it backwards for ever),
 * - a string or bytes length past the end, a union or enum index out of range, a varint longer
 *   than 10 bytes, a body that ends early.
 * Its cost is one pass without allocation; a writer type without arrays or maps needs none
 * (`countGuard` returns null): nothing else in Avro is a count.
 */
export type CountGuard = (body: Buffer) => void;

interface Cursor {
  buf: Buffer;
  pos: number;
  /** Zero-size items claimed so far. */
  zeroItems: number;
}

type Walk = (c: Cursor) => void;

export function countGuard(type: avro.Type): CountGuard | null {
  if (!hasBlocks(type, new Set())) return null;
  const walk = new Compiler().walk(type);
  return (body) => {
    const c: Cursor = { buf: body, pos: 0, zeroItems: 0 };
    walk(c);
  };
}

/** What avsc's Type objects carry, by kind (not all in its typings). */
interface AnyType {
  typeName: string;
  fields?: { type: AnyType }[];
  itemsType?: AnyType;
  valuesType?: AnyType;
  types?: AnyType[];
  symbols?: string[];
  size?: number;
  underlyingType?: AnyType;
}

const kindOf = (t: AnyType): string => {
  const name = t.typeName;
  if (name.startsWith("logical:")) return "logical";
  if (name.startsWith("union:")) return "union";
  if (name.startsWith("abstract:")) return "long"; // WideLongType: a long on the wire
  return name;
};

function hasBlocks(type: avro.Type | AnyType, seen: Set<AnyType>): boolean {
  const t = type as AnyType;
  if (seen.has(t)) return false;
  seen.add(t);
  switch (kindOf(t)) {
    case "array":
    case "map":
      return true;
    case "record":
    case "error":
      return (t.fields ?? []).some((f) => hasBlocks(f.type, seen));
    case "union":
      return (t.types ?? []).some((b) => hasBlocks(b, seen));
    case "logical":
      return t.underlyingType ? hasBlocks(t.underlyingType, seen) : false;
    default:
      return false;
  }
}

function fail(message: string): never {
  throw new CountError(message);
}

/**
 * A long as avsc reads it (the same arithmetic, so both agree on every value and sign), except
 * that a varint running past 10 bytes or past the end is refused.
 */
function readLong(c: Cursor): number {
  const buf = c.buf;
  let pos = c.pos;
  let b = buf[pos++];
  if (b === undefined) fail("the body ends inside a number");
  if (b < 0x80) {
    c.pos = pos;
    return (b >> 1) ^ -(b & 1);
  }
  let n = b & 0x7f;
  let scale = 128;
  for (let i = 1; ; i++) {
    if (i === MAX_VARINT_BYTES) fail("a number longer than 10 bytes");
    b = buf[pos++];
    if (b === undefined) fail("the body ends inside a number");
    n += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) break;
  }
  c.pos = pos;
  return (n % 2 ? -(n + 1) : n) / 2;
}

function need(c: Cursor, bytes: number, what: string): void {
  if (bytes > c.buf.length - c.pos) fail(`${what} of ${bytes} bytes with ${c.buf.length - c.pos} left`);
  c.pos += bytes;
}

class Compiler {
  private readonly walks = new Map<AnyType, Walk>();
  private readonly minimums = new Map<AnyType, number>();

  walk(type: avro.Type | AnyType): Walk {
    const t = type as AnyType;
    const known = this.walks.get(t);
    if (known) return known;
    // Recursive types reach themselves: the entry calls the walk compiled below.
    let compiled: Walk | undefined;
    this.walks.set(t, (c) => (compiled as Walk)(c));
    compiled = this.compile(t);
    this.walks.set(t, compiled);
    return compiled;
  }

  /** Fewest bytes a value of the type takes (0 only for types that always take none). */
  minBytes(t: AnyType): number {
    const known = this.minimums.get(t);
    if (known !== undefined) return known;
    this.minimums.set(t, 0); // a record reaching itself does so through a union, array or map (≥ 1)
    let min: number;
    switch (kindOf(t)) {
      case "null":
        min = 0;
        break;
      case "float":
        min = 4;
        break;
      case "double":
        min = 8;
        break;
      case "fixed":
        min = t.size ?? 0;
        break;
      case "record":
      case "error":
        min = (t.fields ?? []).reduce((sum, f) => sum + this.minBytes(f.type), 0);
        break;
      case "logical":
        min = t.underlyingType ? this.minBytes(t.underlyingType) : 1;
        break;
      default: // boolean, int, long, string, bytes, enum, union, array, map
        min = 1;
    }
    this.minimums.set(t, min);
    return min;
  }

  private compile(t: AnyType): Walk {
    switch (kindOf(t)) {
      case "null":
        return () => {};
      case "boolean":
        return (c) => need(c, 1, "a boolean");
      case "int":
      case "long":
        return (c) => {
          readLong(c);
        };
      case "float":
        return (c) => need(c, 4, "a float");
      case "double":
        return (c) => need(c, 8, "a double");
      case "bytes":
      case "string":
        return (c) => {
          const length = readLong(c);
          if (length < 0) fail(`a negative length ${length}`);
          need(c, length, "a string or bytes");
        };
      case "fixed": {
        const size = t.size ?? 0;
        return (c) => need(c, size, "a fixed");
      }
      case "enum": {
        const count = t.symbols?.length ?? 0;
        return (c) => {
          const index = readLong(c);
          if (index < 0 || index >= count) fail(`enum index ${index} of ${count} symbols`);
        };
      }
      case "union": {
        const branches = (t.types ?? []).map((b) => this.walk(b));
        return (c) => {
          const index = readLong(c);
          if (index < 0 || index >= branches.length)
            fail(`union index ${index} of ${branches.length} branches`);
          (branches[index] as Walk)(c);
        };
      }
      case "record":
      case "error": {
        const fields = (t.fields ?? []).map((f) => this.walk(f.type));
        return (c) => {
          for (let i = 0; i < fields.length; i++) (fields[i] as Walk)(c);
        };
      }
      case "array": {
        const items = t.itemsType as AnyType;
        return this.blocks("array", this.walk(items), this.minBytes(items));
      }
      case "map": {
        const values = this.walk(t.valuesType as AnyType);
        const key = this.walk({ typeName: "string" });
        const entry: Walk = (c) => {
          key(c);
          values(c);
        };
        return this.blocks("map", entry, 1 + this.minBytes(t.valuesType as AnyType));
      }
      case "logical":
        return t.underlyingType ? this.walk(t.underlyingType) : () => {};
      default:
        return () => fail(`a type this check does not know: ${t.typeName}`);
    }
  }

  /** Array and map blocks: each count checked against the bytes left before any item is read. */
  private blocks(what: string, item: Walk, itemMin: number): Walk {
    return (c) => {
      for (;;) {
        let count = readLong(c);
        if (count === 0) return;
        let end = -1;
        let size = 0;
        if (count < 0) {
          count = -count;
          size = readLong(c);
          if (size < 0 || size > c.buf.length - c.pos) {
            fail(`${what} block of ${count} items claims ${size} bytes with ${c.buf.length - c.pos} left`);
          }
          end = c.pos + size;
        }
        const left = (end >= 0 ? end : c.buf.length) - c.pos;
        if (itemMin > 0) {
          if (count * itemMin > left) {
            fail(`${what} block claims ${count} items of at least ${itemMin} bytes with ${left} bytes left`);
          }
          for (let i = 0; i < count; i++) item(c);
        } else {
          // Zero-size items take no bytes, so no bytes bound them: a cap per record does.
          c.zeroItems += count;
          if (c.zeroItems > ZERO_SIZE_ITEMS_LIMIT) {
            fail(
              `${what} blocks claim ${c.zeroItems} items of a zero-size type (at most ${ZERO_SIZE_ITEMS_LIMIT})`,
            );
          }
        }
        if (end >= 0 && c.pos !== end)
          fail(`${what} block claims ${size} bytes, its items take ${c.pos - (end - size)}`);
      }
    };
  }
}
