/** An Avro long as the Java library writes it: zig-zag, then a base-128 varint of all 64 bits. */
export function avroLong(value: number | bigint): Buffer {
  const n = BigInt(value);
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const bytes: number[] = [];
  while (z >= 0x80n) {
    bytes.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return Buffer.from(bytes);
}
