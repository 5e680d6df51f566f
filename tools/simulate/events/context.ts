import type { ResolvedDatasetOptions } from "../options.js";
import { type Rng, STREAM, streamRng } from "../random.js";
import type { MerchantPicker, MoneyAccountKind, SimMerchant, SimMoneyAccount } from "../world/merchants.js";
import { Sales } from "./sales.js";

/** Most milliseconds between one event's `occurredAt` and the next one's. */
export const MAX_EVENT_GAP_MS = 2_000;

/**
 * No event of the data set occurred after this: each position of the stream draws at most one
 * envelope (copies repeat theirs), each at most MAX_EVENT_GAP_MS after the last. Known from the
 * options alone, so what comes after the events can be timed without generating them.
 */
export const latestOccurredAt = (o: ResolvedDatasetOptions): number => o.start + MAX_EVENT_GAP_MS * o.events;

/** The fields every source event starts with. */
export interface Envelope {
  eventId: string;
  occurredAt: number;
  merchantId: string;
  currency: string;
}

/**
 * What the event generators share while the stream runs: its one random stream (every draw
 * in a fixed order, so a seed gives the same events), its clock, the merchants and their
 * accounts, and the sales made so far.
 */
export class EventContext {
  readonly rng: Rng;
  readonly sales: Sales;
  private clock: number;
  /** Each merchant's money accounts by kind, and those a vendor can be paid from (not e-wallets). */
  private readonly accounts: Record<MoneyAccountKind | "payable", SimMoneyAccount[]>[];

  constructor(
    readonly options: ResolvedDatasetOptions,
    readonly merchants: readonly SimMerchant[],
    private readonly pickMerchant: MerchantPicker,
  ) {
    this.rng = streamRng(options.seed, STREAM.events, 0);
    this.sales = new Sales(merchants.length);
    this.clock = options.start;
    this.accounts = merchants.map((m) => ({
      CASH: m.moneyAccounts.filter((a) => a.kind === "CASH"),
      BANK: m.moneyAccounts.filter((a) => a.kind === "BANK"),
      EWALLET: m.moneyAccounts.filter((a) => a.kind === "EWALLET"),
      payable: m.moneyAccounts.filter((a) => a.kind !== "EWALLET"),
    }));
  }

  /** A merchant, the big ones more often. */
  merchant(): SimMerchant {
    return this.merchants[this.pickMerchant(this.rng.float())] as SimMerchant;
  }

  /** One of the merchant's accounts of `kind`, or its first bank account when it has none. */
  account(m: SimMerchant, kind: MoneyAccountKind): SimMoneyAccount {
    const accounts = this.accountsOf(m);
    const ofKind = accounts[kind];
    return ofKind.length > 0 ? this.rng.pick(ofKind) : (accounts.BANK[0] as SimMoneyAccount);
  }

  /** The merchant's cash drawers: the seeded CASH account first. */
  cashDrawers(m: SimMerchant): readonly SimMoneyAccount[] {
    return this.accountsOf(m).CASH;
  }

  /** One of the accounts the merchant can pay a vendor from. */
  payableAccount(m: SimMerchant): SimMoneyAccount {
    return this.rng.pick(this.accountsOf(m).payable);
  }

  /** A new event's envelope, a little after the previous event. */
  envelope(m: SimMerchant): Envelope {
    this.clock += this.rng.int(1, MAX_EVENT_GAP_MS);
    return { eventId: this.rng.uuid(), occurredAt: this.clock, merchantId: m.id, currency: "VND" };
  }

  private accountsOf(m: SimMerchant) {
    return this.accounts[m.index] as (typeof this.accounts)[number];
  }
}
