import { isMoney } from "../../src/money.js";

/**
 * Plain data for deepEqual: decimals as their exact text (so a float could never pass), and
 * avsc's record instances as plain objects.
 */
export function comparable(value: unknown): unknown {
  if (isMoney(value)) return `decimal:${value.toString()}`;
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === "object" && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}
