import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentAttempt,
  PaymentSucceeded,
  PurchaseOrderReceived,
  PurchasePayment,
} from "../domain/events.js";
import type { DeadLetterReason } from "../errors.js";
import { seededAccountId } from "../ids.js";
import { type Money, money } from "../money.js";
import { CDC_TOPICS, SOURCE_TOPICS, type SourceTopic } from "../topics.js";

/**
 * A realistic, reproducible data set for the pipeline: Debezium snapshot rows (CDC) for M
 * merchants with their extra money accounts, vendors and purchase orders, then N source events
 * across the four source topics. Pure: everything follows from the options (no clock, no
 * Math.random). Events are produced lazily by an iterator, so memory stays bounded at any N;
 * each call of `events()` / `cdc()` starts again from the seed and yields the same items.
 */

export interface DatasetOptions {
  seed: number;
  /** Number of merchants (≥ 1). */
  merchants: number;
  /** Number of source messages, redeliveries, re-publications and bad events included. */
  events: number;
  /** Partitions the publisher should create topics with (default 6). Not used by the generator. */
  partitions?: number;
  /** Mix in deliberately bad events (dead letters). Off by default. */
  bad?: boolean;
  /** With `bad`: chance of each slot being a bad event (default 0.002); one of each reason is always placed. */
  badRate?: number;
  /**
   * With `bad`: which dead-letter reasons to produce (default all four). UNRESOLVED events make
   * the pipeline wait RESOLVE_TIMEOUT_MS before dead-lettering them; leave it out for quick runs.
   */
  badReasons?: DeadLetterReason[];
  /** Chance that a fresh event is redelivered (same bytes), and separately re-published (new eventId). Default 0.01. */
  duplicateRate?: number;
  /** Epoch millis of the first event (default 2026-01-01T00:00:00Z). */
  start?: number;
}

export type ResolvedDatasetOptions = Required<DatasetOptions>;

/** Share of fresh events per topic. */
export const TOPIC_MIX: Readonly<Record<SourceTopic, number>> = {
  [SOURCE_TOPICS.paymentSuccess]: 0.55,
  [SOURCE_TOPICS.purchaseOrderReceived]: 0.1,
  [SOURCE_TOPICS.inventoryIssuedForSale]: 0.25,
  [SOURCE_TOPICS.inventoryAdjusted]: 0.1,
};

export type SourceEvent =
  | PaymentSucceeded
  | PurchaseOrderReceived
  | InventoryIssuedForSale
  | InventoryAdjusted;

/** ORIGINAL: first publication; REDELIVERY: the same record (same bytes) again; REPUBLICATION: same content, new eventId. */
export type Delivery = "ORIGINAL" | "REDELIVERY" | "REPUBLICATION";

export interface EventItem {
  /** Position in the stream, 0..events-1. */
  seq: number;
  topic: SourceTopic;
  /** The contract key (saleOrderId, purchaseOrderId, saleOrderId, inventoryTrackingId), UTF-8 on the wire. */
  key: string;
  /** The record to Avro-encode with the topic's value schema; null when `raw` is set. */
  event: SourceEvent | null;
  /** Bytes to publish as they are (garbage for UNDECODABLE); null for a normal event. */
  raw: Buffer | null;
  delivery: Delivery;
  /** What the generator meant this event to be dead-lettered for; null for a good event. */
  intended: DeadLetterReason | null;
}

export interface DebeziumSource {
  version: string;
  connector: string;
  name: string;
  ts_ms: number;
  snapshot: string | null;
  db: string;
  schema: string;
  table: string;
  txId: number | null;
  lsn: number | null;
}

export interface CdcEnvelope<Row> {
  before: Row | null;
  after: Row | null;
  source: DebeziumSource;
  op: string;
  ts_ms: number | null;
}

export interface MerchantRow {
  id: string;
  name: string;
  currency: string;
  status: string;
  created_at: string | null;
}
export interface AccountRow {
  id: string;
  merchant_id: string;
  code: string | null;
  name: string;
  type: string;
  status: string;
}
export interface VendorRow {
  id: string;
  merchant_id: string;
  name: string;
  status: string;
}
export interface PurchaseOrderRow {
  id: string;
  merchant_id: string;
  code: string;
  vendor_id: string;
  status: string;
}

export type CdcItem =
  | { topic: typeof CDC_TOPICS.merchant; key: { id: string }; value: CdcEnvelope<MerchantRow> }
  | { topic: typeof CDC_TOPICS.financeAccount; key: { id: string }; value: CdcEnvelope<AccountRow> }
  | { topic: typeof CDC_TOPICS.vendor; key: { id: string }; value: CdcEnvelope<VendorRow> }
  | { topic: typeof CDC_TOPICS.purchaseOrder; key: { id: string }; value: CdcEnvelope<PurchaseOrderRow> };

export type MoneyAccountKind = "CASH" | "BANK" | "EWALLET";

export interface SimMoneyAccount {
  id: string;
  code: string;
  name: string;
  kind: MoneyAccountKind;
  /** true for the seeded CASH account (finance creates it; it is not on the account CDC topic). */
  seeded: boolean;
}

export interface SimMerchant {
  index: number;
  id: string;
  name: string;
  createdAt: string;
  /** Every money account of the merchant: the seeded CASH first, then the CDC'd ones. */
  moneyAccounts: SimMoneyAccount[];
  vendors: { id: string; name: string }[];
}

export interface SimPurchaseOrder {
  index: number;
  id: string;
  code: string;
  merchantIndex: number;
  vendorId: string;
}

export interface Dataset {
  options: ResolvedDatasetOptions;
  merchants: readonly SimMerchant[];
  /** Purchase orders on the CDC topic (more than the events receive: some stay open). */
  purchaseOrderCount: number;
  /** Number of CDC rows `cdc()` yields. */
  cdcCount: number;
  purchaseOrder(index: number): SimPurchaseOrder;
  cdc(): IterableIterator<CdcItem>;
  events(): IterableIterator<EventItem>;
}

export const DEFAULT_START = Date.UTC(2026, 0, 1);

/** The dead-letter reasons `bad` data sets cover. */
export const BAD_REASONS: readonly DeadLetterReason[] = [
  "CROSS_TENANT",
  "UNRESOLVED",
  "INVALID_PAYLOAD",
  "UNDECODABLE",
];

// ---------------------------------------------------------------------------------------------
// Randomness: mulberry32, plus a stateless mix for things derived from an index (purchase orders,
// customers) so they can be regenerated anywhere without keeping them.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }
  /** A random (version 4 shaped) UUID. */
  uuid(): string {
    const a = this.u32();
    const b = ((this.u32() & 0xffff0fff) | 0x00004000) >>> 0;
    const c = ((this.u32() & 0x3fffffff) | 0x80000000) >>> 0;
    const d = this.u32();
    return `${hex8(a)}-${hex4(b >>> 16)}-${hex4(b & 0xffff)}-${hex4(c >>> 16)}-${hex4(c & 0xffff)}${hex8(d)}`;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const hex4 = (n: number) => (HEX[(n >>> 8) & 0xff] as string) + (HEX[n & 0xff] as string);
const hex8 = (n: number) => hex4(n >>> 16) + hex4(n & 0xffff);

export function mix32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An Rng determined by (seed, stream, index) alone. */
const derived = (seed: number, stream: number, index: number) => new Rng(mix32(mix32(seed, stream), index));

const STREAM = { merchants: 1, events: 2, purchaseOrder: 3, customer: 4, variant: 5 } as const;

// ---------------------------------------------------------------------------------------------
// Amounts are handled as integers of 1/10,000 VND (exact in a double up to 9e11 VND), and become
// decimal.js values only on the event.

const UNIT = 10_000;
const vnd = (dong: number) => dong * UNIT;

export function unitsToMoney(units: number): Money {
  if (units % UNIT === 0) return money(units / UNIT);
  const sign = units < 0 ? "-" : "";
  const abs = Math.abs(units);
  return money(`${sign}${Math.floor(abs / UNIT)}.${String(abs % UNIT).padStart(4, "0")}`);
}

/** Log-uniform amount in [lo, hi] dong, rounded to `step` dong; with chance `oddP` it keeps 4 decimals. */
function amountUnits(rng: Rng, lo: number, hi: number, step: number, oddP: number): number {
  const x = Math.exp(Math.log(lo) + rng.float() * (Math.log(hi) - Math.log(lo)));
  if (rng.chance(oddP)) return Math.max(1, Math.round(x * UNIT));
  return vnd(Math.max(step, Math.round(x / step) * step));
}

/** Splits `total` into n positive parts, the first n-1 rounded to `step` dong. */
function splitUnits(rng: Rng, total: number, n: number, step: number): number[] {
  const stepUnits = vnd(step);
  if (n <= 1 || total < stepUnits * (n + 1)) return [total];
  const parts: number[] = [];
  let left = total;
  for (let i = 0; i < n - 1; i++) {
    const share = 0.2 + rng.float() * 0.6;
    let part = Math.floor((left * share) / (n - 1 - i) / stepUnits) * stepUnits;
    part = Math.max(stepUnits, Math.min(part, left - stepUnits * (n - 1 - i)));
    parts.push(part);
    left -= part;
  }
  parts.push(left);
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Names

const SHOP_KINDS = [
  "Tạp hóa",
  "Cà phê",
  "Nhà thuốc",
  "Thời trang",
  "Điện máy",
  "Mỹ phẩm",
  "Nhà sách",
  "Bánh mì",
];
const SHOP_NAMES = [
  "Minh Anh",
  "Hoàng Long",
  "Thu Trang",
  "Phúc An",
  "Bảo Ngọc",
  "Gia Huy",
  "Hạnh Phúc",
  "Sao Mai",
];
const BANKS = ["Vietcombank", "Techcombank", "BIDV", "VietinBank", "MB Bank", "ACB", "VPBank", "TPBank"];
const WALLETS = ["MoMo", "ZaloPay", "ShopeePay", "VNPay"];
const VENDOR_NAMES = [
  "Công ty TNHH Thực phẩm Sài Gòn",
  "Công ty CP Phân phối Hà Nội",
  "Nhà phân phối Đại Việt",
  "Công ty TNHH Hàng tiêu dùng Phương Nam",
  "Tổng kho Miền Trung",
  "Công ty CP Dược phẩm An Khang",
  "Xưởng may Thành Công",
  "Công ty TNHH Điện tử Bình Minh",
  "Đại lý Nước giải khát Tân Hiệp",
  "Công ty CP Bao bì Việt Thắng",
];
const FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"];
const MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Đức", "Thanh", "Quốc", "Thu", "Hữu", "Gia"];
const GIVEN = [
  "An",
  "Bình",
  "Chi",
  "Dũng",
  "Hà",
  "Hải",
  "Hương",
  "Khoa",
  "Lan",
  "Long",
  "Mai",
  "Nam",
  "Phương",
  "Quân",
  "Tâm",
  "Trang",
  "Tuấn",
  "Vy",
];
const ADJUST_REASONS = [
  "Kiểm kê định kỳ",
  "Hàng hỏng, hết hạn",
  "Stock count correction",
  "Đánh giá lại giá vốn",
  "Hàng mất",
  "Nhập bù hàng thiếu",
  "Revaluation after supplier price change",
];

const pad6 = (n: number) => String(n).padStart(6, "0");

// ---------------------------------------------------------------------------------------------

const CUSTOMERS_PER_MERCHANT = 200;
const VARIANTS_PER_MERCHANT = 500;
const PENDING_SALES_MAX = 4096;
const MAX_DUPLICATE_DELAY = 300;

export function resolveOptions(o: DatasetOptions): ResolvedDatasetOptions {
  const r: ResolvedDatasetOptions = {
    seed: o.seed >>> 0,
    merchants: o.merchants,
    events: o.events,
    partitions: o.partitions ?? 6,
    bad: o.bad ?? false,
    badRate: o.badRate ?? 0.002,
    badReasons: [...(o.badReasons ?? BAD_REASONS)],
    duplicateRate: o.duplicateRate ?? 0.01,
    start: o.start ?? DEFAULT_START,
  };
  if (!Number.isInteger(o.seed)) throw new RangeError("seed must be an integer");
  if (!Number.isInteger(r.merchants) || r.merchants < 1)
    throw new RangeError("merchants must be an integer ≥ 1");
  if (!Number.isInteger(r.events) || r.events < 0) throw new RangeError("events must be an integer ≥ 0");
  if (!Number.isInteger(r.partitions) || r.partitions < 1)
    throw new RangeError("partitions must be an integer ≥ 1");
  for (const [name, p] of [
    ["badRate", r.badRate],
    ["duplicateRate", r.duplicateRate],
  ] as const) {
    if (!(p >= 0 && p <= 0.2)) throw new RangeError(`${name} must be within [0, 0.2]`);
  }
  if (r.bad && r.badReasons.length === 0) throw new RangeError("badReasons must name at least one reason");
  for (const reason of r.badReasons) {
    if (!BAD_REASONS.includes(reason)) throw new RangeError(`unknown dead-letter reason ${reason}`);
  }
  return r;
}

function buildMerchants(o: ResolvedDatasetOptions): SimMerchant[] {
  const rng = derived(o.seed, STREAM.merchants, 0);
  const out: SimMerchant[] = [];
  for (let i = 0; i < o.merchants; i++) {
    const id = rng.uuid();
    const name = `${rng.pick(SHOP_KINDS)} ${rng.pick(SHOP_NAMES)} #${i + 1}`;
    const createdAt = new Date(o.start - 86_400_000 * rng.int(30, 900)).toISOString();
    const moneyAccounts: SimMoneyAccount[] = [
      { id: seededAccountId(id, "CASH"), code: "CASH", name: "Cash", kind: "CASH", seeded: true },
    ];
    if (rng.chance(0.2)) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: "CASH_2",
        name: "Quầy thu ngân 2",
        kind: "CASH",
        seeded: false,
      });
    }
    const banks = rng.chance(0.35) ? 2 : 1;
    for (let b = 1; b <= banks; b++) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: `BANK_${b}`,
        name: rng.pick(BANKS),
        kind: "BANK",
        seeded: false,
      });
    }
    if (rng.chance(0.6)) {
      moneyAccounts.push({
        id: rng.uuid(),
        code: "EWALLET_1",
        name: rng.pick(WALLETS),
        kind: "EWALLET",
        seeded: false,
      });
    }
    const vendors = Array.from({ length: rng.int(3, 8) }, () => ({
      id: rng.uuid(),
      name: rng.pick(VENDOR_NAMES),
    }));
    out.push({ index: i, id, name, createdAt, moneyAccounts, vendors });
  }
  return out;
}

/** Zipf-like merchant weights: a few big merchants, a long tail. */
function merchantPicker(count: number): (u: number) => number {
  const cum = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    total += 1 / (i + 1) ** 0.7;
    cum[i] = total;
  }
  return (u) => {
    const x = u * total;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cum[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

const SNAPSHOT_TX = 48_213;

function source(table: string, tsMs: number, lsn: number): DebeziumSource {
  return {
    version: "2.7.3.Final",
    connector: "postgresql",
    name: "nx",
    ts_ms: tsMs,
    snapshot: "true",
    db: "seller",
    schema: "public",
    table,
    txId: SNAPSHOT_TX,
    lsn,
  };
}

function snapshotRead<Row>(table: string, row: Row, tsMs: number, lsn: number): CdcEnvelope<Row> {
  return { before: null, after: row, source: source(table, tsMs, lsn), op: "r", ts_ms: tsMs + 7 };
}

export function generateDataset(options: DatasetOptions): Dataset {
  const o = resolveOptions(options);
  const merchants = buildMerchants(o);
  const pickMerchant = merchantPicker(o.merchants);
  const expectedPoEvents = o.events * TOPIC_MIX[SOURCE_TOPICS.purchaseOrderReceived];
  const purchaseOrderCount = Math.ceil(expectedPoEvents * 1.1 + 6 * Math.sqrt(expectedPoEvents)) + 4;
  const extraAccounts = merchants.reduce((n, m) => n + m.moneyAccounts.filter((a) => !a.seeded).length, 0);
  const vendorCount = merchants.reduce((n, m) => n + m.vendors.length, 0);

  const purchaseOrder = (index: number): SimPurchaseOrder => {
    const rng = derived(o.seed, STREAM.purchaseOrder, index);
    const merchantIndex = pickMerchant(rng.float());
    const m = merchants[merchantIndex] as SimMerchant;
    return {
      index,
      id: rng.uuid(),
      code: `PO-${pad6(index + 1)}`,
      merchantIndex,
      vendorId: rng.pick(m.vendors).id,
    };
  };

  function* cdc(): IterableIterator<CdcItem> {
    // Snapshot rows are timestamped just before the first event, in snapshot order.
    let ts = o.start - 3_600_000;
    let lsn = 24_000_000;
    const next = () => {
      ts += 1;
      lsn += 152;
      return [ts, lsn] as const;
    };
    for (const m of merchants) {
      const [t, l] = next();
      const row: MerchantRow = {
        id: m.id,
        name: m.name,
        currency: "VND",
        status: "ACTIVE",
        created_at: m.createdAt,
      };
      yield { topic: CDC_TOPICS.merchant, key: { id: m.id }, value: snapshotRead("merchant", row, t, l) };
    }
    for (const m of merchants) {
      for (const a of m.moneyAccounts) {
        if (a.seeded) continue;
        const [t, l] = next();
        const row: AccountRow = {
          id: a.id,
          merchant_id: m.id,
          code: a.code,
          name: a.name,
          type: "MONEY",
          status: "ACTIVE",
        };
        yield {
          topic: CDC_TOPICS.financeAccount,
          key: { id: a.id },
          value: snapshotRead("finance_account", row, t, l),
        };
      }
    }
    for (const m of merchants) {
      for (const v of m.vendors) {
        const [t, l] = next();
        const row: VendorRow = { id: v.id, merchant_id: m.id, name: v.name, status: "ACTIVE" };
        yield { topic: CDC_TOPICS.vendor, key: { id: v.id }, value: snapshotRead("vendor", row, t, l) };
      }
    }
    for (let k = 0; k < purchaseOrderCount; k++) {
      const po = purchaseOrder(k);
      const [t, l] = next();
      const row: PurchaseOrderRow = {
        id: po.id,
        merchant_id: (merchants[po.merchantIndex] as SimMerchant).id,
        code: po.code,
        vendor_id: po.vendorId,
        status: "CONFIRMED",
      };
      yield {
        topic: CDC_TOPICS.purchaseOrder,
        key: { id: po.id },
        value: snapshotRead("purchase_order", row, t, l),
      };
    }
  }

  return {
    options: o,
    merchants,
    purchaseOrderCount,
    cdcCount: merchants.length + extraAccounts + vendorCount + purchaseOrderCount,
    purchaseOrder,
    cdc,
    events: () => eventStream(o, merchants, pickMerchant, purchaseOrder, purchaseOrderCount),
  };
}

// ---------------------------------------------------------------------------------------------

interface PendingSale {
  merchantIndex: number;
  saleOrderId: string;
  saleOrderCode: string;
  attemptUid: string;
  totalUnits: number;
}

interface Scheduled {
  due: number;
  item: Omit<EventItem, "seq">;
}

function* eventStream(
  o: ResolvedDatasetOptions,
  merchants: readonly SimMerchant[],
  pickMerchant: (u: number) => number,
  purchaseOrder: (index: number) => SimPurchaseOrder,
  purchaseOrderCount: number,
): IterableIterator<EventItem> {
  const rng = derived(o.seed, STREAM.events, 0);
  const saleCounter = new Array<number>(merchants.length).fill(0);
  let nextPurchaseOrder = 0;
  let clock = o.start;
  // Ring buffer of sales whose stock has not been issued yet (inventory.issued-for-sale follows a sale).
  const pending: (PendingSale | undefined)[] = new Array(PENDING_SALES_MAX);
  let pendingHead = 0;
  let pendingSize = 0;
  const scheduled: Scheduled[] = [];

  const forcedBad = new Map<number, DeadLetterReason>();
  const badReasons = o.badReasons;
  if (o.bad && o.events >= badReasons.length + 1) {
    badReasons.forEach((reason, k) => {
      forcedBad.set(Math.floor(((k + 1) * o.events) / (badReasons.length + 1)), reason);
    });
  }

  const merchantOf = () => merchants[pickMerchant(rng.float())] as SimMerchant;
  // Each merchant's money accounts by kind, and those a vendor can be paid from (not e-wallets).
  const kinds = merchants.map((m) => ({
    CASH: m.moneyAccounts.filter((a) => a.kind === "CASH"),
    BANK: m.moneyAccounts.filter((a) => a.kind === "BANK"),
    EWALLET: m.moneyAccounts.filter((a) => a.kind === "EWALLET"),
    payable: m.moneyAccounts.filter((a) => a.kind !== "EWALLET"),
  }));
  const accountOf = (m: SimMerchant, kind: MoneyAccountKind): SimMoneyAccount => {
    const k = kinds[m.index] as (typeof kinds)[number];
    const ofKind = k[kind];
    return ofKind.length > 0 ? rng.pick(ofKind) : (k.BANK[0] as SimMoneyAccount);
  };
  const routed = (id: string) => ({ source: { id } });
  const envelope = (m: SimMerchant) => {
    clock += rng.int(1, 2_000);
    return { eventId: rng.uuid(), occurredAt: clock, merchantId: m.id, currency: "VND" };
  };
  const customerOf = (m: SimMerchant) => {
    if (!rng.chance(0.35)) return null;
    const c = derived(
      o.seed,
      STREAM.customer,
      m.index * CUSTOMERS_PER_MERCHANT + rng.int(0, CUSTOMERS_PER_MERCHANT - 1),
    );
    return { id: c.uuid(), name: `${c.pick(FAMILY)} ${c.pick(MIDDLE)} ${c.pick(GIVEN)}` };
  };

  const cashAttempt = (m: SimMerchant, amount: number): PaymentAttempt => {
    const drawers = (kinds[m.index] as (typeof kinds)[number]).CASH;
    const drawer =
      drawers.length > 1 && rng.chance(0.3)
        ? (drawers[1] as SimMoneyAccount)
        : (drawers[0] as SimMoneyAccount);
    let tendered = amount;
    if (rng.chance(0.6)) {
      // Handed over in notes: rounded up to a denomination, always above the amount.
      const step = vnd(rng.pick([10_000, 50_000, 100_000, 200_000, 500_000]));
      tendered = Math.ceil(amount / step) * step;
      if (tendered === amount) tendered += step;
    }
    return {
      uid: rng.uuid(),
      method: "CASH",
      amount: unitsToMoney(amount),
      tendered: unitsToMoney(tendered),
      finance: rng.chance(0.06) ? null : routed(drawer.id),
    };
  };
  const otherAttempt = (m: SimMerchant, amount: number, method: string): PaymentAttempt => {
    const kind: MoneyAccountKind = method === "EWALLET" ? "EWALLET" : "BANK";
    return {
      uid: rng.uuid(),
      method,
      amount: unitsToMoney(amount),
      tendered: null,
      finance: rng.chance(0.06) ? null : routed(accountOf(m, kind).id),
    };
  };

  const paymentSuccess = (m: SimMerchant): PaymentSucceeded => {
    const env = envelope(m);
    const total = amountUnits(rng, 10_000, 5_000_000, 1_000, 0.01);
    const shape = rng.float();
    let attempts: PaymentAttempt[];
    if (shape < 0.8) {
      const r = rng.float();
      const method = r < 0.45 ? "CASH" : r < 0.7 ? "CARD" : r < 0.85 ? "BANK_TRANSFER" : "EWALLET";
      attempts = [method === "CASH" ? cashAttempt(m, total) : otherAttempt(m, total, method)];
    } else {
      // Split tender: cash first, then card (and sometimes an e-wallet).
      const parts = splitUnits(rng, total, shape < 0.97 ? 2 : 3, 10_000);
      attempts = parts.map((p, i) =>
        i === 0 ? cashAttempt(m, p) : otherAttempt(m, p, i === 1 ? "CARD" : "EWALLET"),
      );
    }
    saleCounter[m.index] = (saleCounter[m.index] as number) + 1;
    const e: PaymentSucceeded = {
      eventId: env.eventId,
      occurredAt: env.occurredAt,
      merchantId: env.merchantId,
      currency: env.currency,
      saleOrderId: rng.uuid(),
      saleOrderCode: `SO-${pad6(saleCounter[m.index] as number)}`,
      orderTotal: unitsToMoney(total),
      customer: customerOf(m),
      attempts,
    };
    // Remember the sale for a later stock issue; the oldest is forgotten when the ring is full.
    const sale: PendingSale = {
      merchantIndex: m.index,
      saleOrderId: e.saleOrderId,
      saleOrderCode: e.saleOrderCode,
      attemptUid: (attempts[0] as PaymentAttempt).uid,
      totalUnits: total,
    };
    pending[(pendingHead + pendingSize) % PENDING_SALES_MAX] = sale;
    if (pendingSize < PENDING_SALES_MAX) pendingSize++;
    else pendingHead = (pendingHead + 1) % PENDING_SALES_MAX;
    return e;
  };

  const purchasePayments = (m: SimMerchant, paid: number, n: number): PurchasePayment[] =>
    splitUnits(rng, paid, n, 1_000).map((amount) => ({
      uid: rng.uuid(),
      accountId: rng.pick((kinds[m.index] as (typeof kinds)[number]).payable).id,
      amount: unitsToMoney(amount),
    }));

  const purchaseOrderReceived = (po: SimPurchaseOrder): PurchaseOrderReceived => {
    const m = merchants[po.merchantIndex] as SimMerchant;
    const env = envelope(m);
    const received = rng.chance(0.05) ? 0 : amountUnits(rng, 200_000, 50_000_000, 1_000, 0.02);
    let payments: PurchasePayment[] = [];
    if (!rng.chance(0.1)) {
      const r = rng.float();
      const n = r < 0.6 ? 1 : r < 0.85 ? 2 : 3;
      let paid: number;
      const rel = rng.float();
      if (received === 0)
        paid = amountUnits(rng, 200_000, 20_000_000, 1_000, 0); // prepayment
      else if (rel < 0.55) paid = received;
      else if (rel < 0.8)
        paid = Math.max(
          vnd(1_000),
          Math.round((received * (0.2 + rng.float() * 0.7)) / vnd(1_000)) * vnd(1_000),
        );
      else paid = Math.round((received * (1.05 + rng.float() * 0.45)) / vnd(1_000)) * vnd(1_000);
      payments = purchasePayments(m, paid, n);
    }
    return {
      eventId: env.eventId,
      occurredAt: env.occurredAt,
      merchantId: env.merchantId,
      currency: env.currency,
      purchaseOrderId: po.id,
      receivedValue: unitsToMoney(received),
      payments,
    };
  };

  const issuedForSale = (): InventoryIssuedForSale => {
    let sale: PendingSale;
    if (pendingSize > 0) {
      sale = pending[pendingHead] as PendingSale;
      pending[pendingHead] = undefined;
      pendingHead = (pendingHead + 1) % PENDING_SALES_MAX;
      pendingSize--;
    } else {
      // A sale from before the data set (or another channel).
      const m = merchantOf();
      saleCounter[m.index] = (saleCounter[m.index] as number) + 1;
      sale = {
        merchantIndex: m.index,
        saleOrderId: rng.uuid(),
        saleOrderCode: `SO-${pad6(saleCounter[m.index] as number)}`,
        attemptUid: rng.uuid(),
        totalUnits: amountUnits(rng, 10_000, 5_000_000, 1_000, 0),
      };
    }
    const m = merchants[sale.merchantIndex] as SimMerchant;
    const env = envelope(m);
    let cost = 0;
    if (!rng.chance(0.06)) {
      const share = 0.35 + rng.float() * 0.5;
      // Average costs are often fractional.
      cost = rng.chance(0.1)
        ? Math.max(1, Math.round(sale.totalUnits * share))
        : Math.max(vnd(100), Math.round((sale.totalUnits * share) / vnd(100)) * vnd(100));
    }
    return {
      eventId: env.eventId,
      occurredAt: env.occurredAt,
      merchantId: env.merchantId,
      currency: env.currency,
      saleOrderId: sale.saleOrderId,
      saleOrderCode: rng.chance(0.1) ? null : sale.saleOrderCode,
      attemptUid: sale.attemptUid,
      costBasis: unitsToMoney(cost),
    };
  };

  const inventoryAdjusted = (m: SimMerchant): InventoryAdjusted => {
    const env = envelope(m);
    const r = rng.float();
    const magnitude = amountUnits(rng, 5_000, 2_000_000, 100, 0.15);
    const delta = r < 0.1 ? 0 : r < 0.5 ? magnitude : -magnitude;
    const variant = derived(
      o.seed,
      STREAM.variant,
      m.index * VARIANTS_PER_MERCHANT + rng.int(0, VARIANTS_PER_MERCHANT - 1),
    );
    return {
      eventId: env.eventId,
      occurredAt: env.occurredAt,
      merchantId: env.merchantId,
      currency: env.currency,
      inventoryTrackingId: rng.uuid(),
      productVariantId: variant.uuid(),
      valueDelta: unitsToMoney(delta),
      reason: rng.chance(0.55) ? rng.pick(ADJUST_REASONS) : null,
    };
  };

  const fresh = (): Omit<EventItem, "seq"> => {
    const r = rng.float();
    const item = (topic: SourceTopic, key: string, event: SourceEvent) => ({
      topic,
      key,
      event,
      raw: null,
      delivery: "ORIGINAL" as const,
      intended: null,
    });
    let cut = TOPIC_MIX[SOURCE_TOPICS.paymentSuccess];
    if (r < cut) {
      const e = paymentSuccess(merchantOf());
      return item(SOURCE_TOPICS.paymentSuccess, e.saleOrderId, e);
    }
    cut += TOPIC_MIX[SOURCE_TOPICS.purchaseOrderReceived];
    if (r < cut && nextPurchaseOrder < purchaseOrderCount) {
      const e = purchaseOrderReceived(purchaseOrder(nextPurchaseOrder++));
      return item(SOURCE_TOPICS.purchaseOrderReceived, e.purchaseOrderId, e);
    }
    cut += TOPIC_MIX[SOURCE_TOPICS.inventoryIssuedForSale];
    if (r < cut) {
      const e = issuedForSale();
      return item(SOURCE_TOPICS.inventoryIssuedForSale, e.saleOrderId, e);
    }
    const e = inventoryAdjusted(merchantOf());
    return item(SOURCE_TOPICS.inventoryAdjusted, e.inventoryTrackingId, e);
  };

  const bad = (reason: DeadLetterReason): Omit<EventItem, "seq"> => {
    const m = merchantOf();
    const base = { raw: null, delivery: "ORIGINAL" as const, intended: reason };
    if (reason === "CROSS_TENANT" && merchants.length > 1) {
      // A card payment routed to another merchant's bank account.
      const other = merchants[
        (m.index + 1 + rng.int(0, merchants.length - 2)) % merchants.length
      ] as SimMerchant;
      const e = paymentSuccess(m);
      const total = e.attempts.reduce((s, a) => s.plus(a.amount), money(0));
      e.attempts = [
        {
          uid: rng.uuid(),
          method: "CARD",
          amount: total,
          tendered: null,
          finance: routed(accountOf(other, "BANK").id),
        },
      ];
      return { ...base, topic: SOURCE_TOPICS.paymentSuccess, key: e.saleOrderId, event: e };
    }
    if (reason === "UNRESOLVED") {
      // A purchase order that never reached the CDC topic.
      const env = envelope(m);
      const received = amountUnits(rng, 200_000, 5_000_000, 1_000, 0);
      const e: PurchaseOrderReceived = {
        eventId: env.eventId,
        occurredAt: env.occurredAt,
        merchantId: env.merchantId,
        currency: env.currency,
        purchaseOrderId: rng.uuid(),
        receivedValue: unitsToMoney(received),
        payments: purchasePayments(m, received, 1),
      };
      return { ...base, topic: SOURCE_TOPICS.purchaseOrderReceived, key: e.purchaseOrderId, event: e };
    }
    if (reason === "UNDECODABLE") {
      // JSON where Avro in the registry's wire format is expected.
      const key = rng.uuid();
      const raw = Buffer.from(JSON.stringify({ saleOrderId: key, amount: rng.int(10, 5000) * 1000 }), "utf8");
      return { ...base, topic: SOURCE_TOPICS.paymentSuccess, key, event: null, raw };
    }
    // INVALID_PAYLOAD (also CROSS_TENANT with a single merchant): cash tendered below the amount.
    const e = paymentSuccess(m);
    const amount = amountUnits(rng, 20_000, 2_000_000, 1_000, 0);
    e.orderTotal = unitsToMoney(amount);
    e.attempts = [
      {
        uid: rng.uuid(),
        method: "CASH",
        amount: unitsToMoney(amount),
        tendered: unitsToMoney(amount - vnd(10_000)),
        finance: routed(seededAccountId(m.id, "CASH")),
      },
    ];
    return {
      ...base,
      intended: "INVALID_PAYLOAD",
      topic: SOURCE_TOPICS.paymentSuccess,
      key: e.saleOrderId,
      event: e,
    };
  };

  const at = (seq: number, d: Omit<EventItem, "seq">): EventItem => ({
    seq,
    topic: d.topic,
    key: d.key,
    event: d.event,
    raw: d.raw,
    delivery: d.delivery,
    intended: d.intended,
  });

  const schedule = (due: number, item: Omit<EventItem, "seq">) => {
    let i = scheduled.length;
    while (i > 0 && (scheduled[i - 1] as Scheduled).due > due) i--;
    scheduled.splice(i, 0, { due, item });
  };

  for (let seq = 0; seq < o.events; seq++) {
    const forced = forcedBad.get(seq);
    if (forced !== undefined) {
      yield at(seq, bad(forced));
      continue;
    }
    const head = scheduled[0];
    if (head !== undefined && head.due <= seq) {
      scheduled.shift();
      yield at(seq, head.item);
      continue;
    }
    if (o.bad && rng.chance(o.badRate)) {
      yield at(seq, bad(rng.pick(badReasons)));
      continue;
    }
    const item = fresh();
    if (rng.chance(o.duplicateRate)) {
      schedule(seq + rng.int(1, MAX_DUPLICATE_DELAY), { ...item, delivery: "REDELIVERY" });
    }
    if (rng.chance(o.duplicateRate)) {
      const event = { ...(item.event as SourceEvent), eventId: rng.uuid() };
      schedule(seq + rng.int(1, MAX_DUPLICATE_DELAY), { ...item, event, delivery: "REPUBLICATION" });
    }
    yield at(seq, item);
  }
}
