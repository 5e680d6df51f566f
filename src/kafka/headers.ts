import type { IHeaders } from "kafkajs";

/** A Kafka header as text (its first value when repeated), or null when absent. */
export function headerText(headers: IHeaders, name: string): string | null {
  const v = headers[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? null : first.toString();
}

/** Every header as text (repeated ones by their first value), e.g. to store with a dead letter. */
export const headerStrings = (headers: IHeaders): Record<string, string> =>
  Object.fromEntries(Object.keys(headers).map((k) => [k, headerText(headers, k) ?? ""]));
