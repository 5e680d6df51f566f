import { pad6 } from "../world/names.js";

/** A sale whose stock has not been issued yet. */
export interface OpenSale {
  merchantIndex: number;
  saleOrderId: string;
  saleOrderCode: string;
  attemptUid: string;
  totalUnits: number;
}

const OPEN_SALES_MAX = 4096;

/**
 * The sales made so far: each merchant's sale order numbering, and the latest sales whose stock
 * has not been issued yet (inventory.issued-for-sale follows a sale), oldest first, in a ring
 * that forgets the oldest when full.
 */
export class Sales {
  private readonly counts: number[];
  private readonly open: (OpenSale | undefined)[] = new Array(OPEN_SALES_MAX);
  private head = 0;
  private size = 0;

  constructor(merchants: number) {
    this.counts = new Array<number>(merchants).fill(0);
  }

  /** The next sale order code of a merchant: SO-000001, SO-000002, … */
  nextCode(merchantIndex: number): string {
    const n = (this.counts[merchantIndex] as number) + 1;
    this.counts[merchantIndex] = n;
    return `SO-${pad6(n)}`;
  }

  remember(sale: OpenSale): void {
    this.open[(this.head + this.size) % OPEN_SALES_MAX] = sale;
    if (this.size < OPEN_SALES_MAX) this.size++;
    else this.head = (this.head + 1) % OPEN_SALES_MAX;
  }

  /** The oldest open sale, no longer open; undefined when there is none. */
  takeOldest(): OpenSale | undefined {
    if (this.size === 0) return undefined;
    const sale = this.open[this.head];
    this.open[this.head] = undefined;
    this.head = (this.head + 1) % OPEN_SALES_MAX;
    this.size--;
    return sale;
  }
}
