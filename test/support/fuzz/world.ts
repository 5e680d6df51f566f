import { seededAccountId } from "../../../src/ids.js";
import { CDC_TOPICS } from "../../../src/topics.js";

/**
 * The fuzz run's own world: merchants, money accounts, vendors and purchase orders with ids no
 * other run uses, published on the CDC topics before any event. Some ids are deliberately
 * exotic (emoji, RTL, U+FFFD, 255 characters), since events referencing them must book.
 */
export interface CdcRow {
  topic: string;
  table: string;
  row: Record<string, unknown>;
}

export interface FuzzMerchant {
  id: string;
  /** Money accounts of this merchant (its seeded CASH first). */
  moneyAccounts: string[];
  vendorId: string;
}

export class FuzzWorld {
  readonly M: FuzzMerchant;
  readonly OTHER: FuzzMerchant;
  /** Merchants a good event may be booked for. */
  readonly merchants: FuzzMerchant[];
  /** Every merchant of the run, OTHER included: the vouchers of these are all checked. */
  readonly allMerchantIds: string[];
  /** A purchase order of OTHER (with OTHER's vendor). */
  readonly otherPo: string;
  /** A purchase order of M whose vendor belongs to OTHER. */
  readonly crossVendorPo: string;
  /** Where an id decoded from invalid UTF-8 lands: `...\uFFFD`. */
  readonly fffdMerchant: FuzzMerchant;
  readonly fffdAccount: string;
  readonly cdc: CdcRow[] = [];
  private poSeq = 0;
  private vendorSeq = 0;

  constructor(readonly run: string) {
    const merchant = (id: string, extraAccounts: string[]): FuzzMerchant => {
      const m = {
        id,
        moneyAccounts: [seededAccountId(id, "CASH"), ...extraAccounts],
        vendorId: `fz-v-${run}-${++this.vendorSeq}`,
      };
      this.cdc.push({
        topic: CDC_TOPICS.merchant,
        table: "merchant",
        row: {
          id,
          name: `Fuzz shop ${id.slice(0, 40)}`,
          currency: "VND",
          status: "ACTIVE",
          created_at: null,
        },
      });
      for (const a of extraAccounts) this.account(a, id);
      this.cdc.push({
        topic: CDC_TOPICS.vendor,
        table: "vendor",
        row: { id: m.vendorId, merchant_id: id, name: "Công ty Sữa 🐄 شركة", status: "ACTIVE" },
      });
      return m;
    };
    this.fffdAccount = `fz-bank-${run}-\uFFFD`;
    this.M = merchant(`fz-m-${run}`, [
      `fz-bank-${run}`,
      `fz-bank-${run}-💳-بنك-e\u0301`,
      `fz-bank-${run}-`.padEnd(255, "x"),
      this.fffdAccount,
    ]);
    this.OTHER = merchant(`fz-o-${run}`, [`fz-obank-${run}`]);
    this.fffdMerchant = merchant(`fz-m-${run}-\uFFFD`, []);
    this.merchants = [
      this.M,
      merchant(`fz-🧾-${run}-店𠜎`, [`fz-bank-${run}-👩‍👩‍👧`]),
      merchant(`fz-متجر-${run}-\u202Eabc\u202C`, []),
      this.fffdMerchant,
      merchant(`fz-L-${run}-`.padEnd(255, "L"), []),
    ];
    this.allMerchantIds = [...this.merchants.map((m) => m.id), this.OTHER.id];
    this.otherPo = this.purchaseOrder(this.OTHER, "PO-OTHER");
    this.crossVendorPo = this.purchaseOrder(this.M, "PO-XVENDOR", this.OTHER.vendorId);
  }

  /** A new purchase order of the merchant (with its own vendor unless told otherwise). */
  purchaseOrder(m: FuzzMerchant, code: string, vendorId = m.vendorId, id?: string): string {
    const poId = id ?? `fz-po-${this.run}-${++this.poSeq}`;
    this.cdc.push({
      topic: CDC_TOPICS.purchaseOrder,
      table: "purchase_order",
      row: { id: poId, merchant_id: m.id, code, vendor_id: vendorId, status: "RECEIVED" },
    });
    return poId;
  }

  private account(id: string, merchantId: string): void {
    this.cdc.push({
      topic: CDC_TOPICS.financeAccount,
      table: "finance_account",
      row: {
        id,
        merchant_id: merchantId,
        code: null,
        name: `Bank ${id.slice(0, 30)}`,
        type: "MONEY",
        status: "ACTIVE",
      },
    });
  }
}
