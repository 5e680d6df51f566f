import { isContentRefusal } from "./pg-errors.js";

/** An item the database refused on its own, with the error it gave. */
export interface Refusal<T> {
  item: T;
  error: Error;
}

/**
 * Writes `items` with `write`; when the write is refused for its content, splits the items in
 * halves and writes each half again, recursively, until the refused single items are found, so
 * one bad record never holds back the rest. Halves are written in order, so "first copy wins"
 * and "last version wins" rules inside `write` still see the items in their original order.
 * `write` must be atomic and idempotent (each call one transaction, a retried item harmless).
 * Any other error (an outage, a broken deployment) is thrown untouched: nothing is refused then.
 * Cost: one write when nothing is refused; about 2·k·log2(n) more for k refused items.
 */
export async function isolateRefusals<T>(
  items: readonly T[],
  write: (items: readonly T[]) => Promise<unknown>,
  isRefusal: (e: unknown) => boolean = isContentRefusal,
): Promise<Refusal<T>[]> {
  if (items.length === 0) return [];
  try {
    await write(items);
    return [];
  } catch (e) {
    if (!isRefusal(e)) throw e;
    if (items.length === 1) return [{ item: items[0] as T, error: e as Error }];
  }
  const middle = Math.ceil(items.length / 2);
  const first = await isolateRefusals(items.slice(0, middle), write, isRefusal);
  const second = await isolateRefusals(items.slice(middle), write, isRefusal);
  return [...first, ...second];
}
