import { parse as parseUuid, v5 as uuidv5 } from "uuid";

/** CONTRACTS.md: namespace of every deterministic id (seeded accounts, voucher ids). */
export const FINANCE_NAMESPACE = "9526b67e-4f97-471f-a726-cbe031565fd9";

/** Parsed once: uuid parses a namespace given as text on every call (one id per voucher). */
const NAMESPACE_BYTES = parseUuid(FINANCE_NAMESPACE);

/** The name goes in as UTF-8 bytes: uuid's own conversion of a string runs through URI escaping. */
export function deterministicId(name: string): string {
  return uuidv5(Buffer.from(name, "utf8"), NAMESPACE_BYTES);
}

export function seededAccountId(merchantId: string, code: string): string {
  return deterministicId(`${merchantId}:${code}`);
}

export function voucherIdOf(idempotencyKey: string): string {
  return deterministicId(idempotencyKey);
}
