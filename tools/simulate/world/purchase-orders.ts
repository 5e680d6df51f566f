import { SOURCE_TOPICS } from "../../../src/topics.js";
import { type ResolvedDatasetOptions, TOPIC_MIX } from "../options.js";
import { STREAM, streamRng } from "../random.js";
import type { MerchantPicker, SimMerchant } from "./merchants.js";
import { pad6 } from "./names.js";

export interface SimPurchaseOrder {
  index: number;
  id: string;
  code: string;
  merchantIndex: number;
  vendorId: string;
}

/**
 * The purchase orders on the CDC topic: a few more than the events receive (some stay open),
 * each regenerated from its index alone, so none has to be kept.
 */
export class PurchaseOrders {
  readonly count: number;

  constructor(
    private readonly options: ResolvedDatasetOptions,
    private readonly merchants: readonly SimMerchant[],
    private readonly pickMerchant: MerchantPicker,
  ) {
    const expectedReceipts = options.events * TOPIC_MIX[SOURCE_TOPICS.purchaseOrderReceived];
    this.count = Math.ceil(expectedReceipts * 1.1 + 6 * Math.sqrt(expectedReceipts)) + 4;
  }

  at(index: number): SimPurchaseOrder {
    const rng = streamRng(this.options.seed, STREAM.purchaseOrder, index);
    const merchantIndex = this.pickMerchant(rng.float());
    const m = this.merchants[merchantIndex] as SimMerchant;
    return {
      index,
      id: rng.uuid(),
      code: `PO-${pad6(index + 1)}`,
      merchantIndex,
      vendorId: rng.pick(m.vendors).id,
    };
  }
}
