import { seededAccountId } from "../ids.js";
import type { BilingualText } from "./voucher.js";

export type AccountType = "MONEY" | "CONTROL";

/** A finance account as the posting rules see it. */
export interface Account {
  id: string;
  merchantId: string;
  code: string | null;
  name: BilingualText;
  type: AccountType;
  status: string;
}

export const CONTROL_CODES = [
  "SALES_REVENUE",
  "INVENTORY",
  "COGS",
  "ACCOUNTS_PAYABLE",
  "INVENTORY_ADJUSTMENT",
  "CHANGE_CLEARING",
] as const;
export type ControlCode = (typeof CONTROL_CODES)[number];

/** SPEC §3: the accounts every merchant gets when it first appears on the merchant CDC topic. */
export const SEEDED_ACCOUNTS: readonly { code: string; type: AccountType; name: BilingualText }[] = [
  { code: "CASH", type: "MONEY", name: { en: "Cash", vi: "Tiền mặt" } },
  { code: "SALES_REVENUE", type: "CONTROL", name: { en: "Sales revenue", vi: "Doanh thu bán hàng" } },
  { code: "INVENTORY", type: "CONTROL", name: { en: "Inventory", vi: "Hàng tồn kho" } },
  { code: "COGS", type: "CONTROL", name: { en: "Cost of goods sold", vi: "Giá vốn hàng bán" } },
  {
    code: "ACCOUNTS_PAYABLE",
    type: "CONTROL",
    name: { en: "Accounts payable", vi: "Phải trả nhà cung cấp" },
  },
  {
    code: "INVENTORY_ADJUSTMENT",
    type: "CONTROL",
    name: { en: "Inventory adjustment", vi: "Điều chỉnh tồn kho" },
  },
  {
    code: "CHANGE_CLEARING",
    type: "CONTROL",
    name: { en: "Change clearing", vi: "Tiền thừa chờ trả khách" },
  },
];

export function seededAccountsFor(merchantId: string): Account[] {
  return SEEDED_ACCOUNTS.map((a) => ({
    id: seededAccountId(merchantId, a.code),
    merchantId,
    code: a.code,
    name: a.name,
    type: a.type,
    status: "ACTIVE",
  }));
}
