import type { IHeaders } from "kafkajs";
import type {
  InventoryAdjusted,
  InventoryIssuedForSale,
  PaymentAttempt,
  PaymentSucceeded,
  PurchaseOrderReceived,
} from "../../../src/domain/events.js";
import type { DeadLetterReason } from "../../../src/errors.js";
import { isMoney, type Money, money } from "../../../src/money.js";
import { loadSchema } from "../../../src/schemas.js";
import {
  ALL_SOURCE_TOPICS,
  CDC_TOPICS,
  keySubject,
  SOURCE_TOPICS,
  type SourceTopic,
  VOUCHER_TOPIC,
  valueSubject,
} from "../../../src/topics.js";
import { avroLong } from "../avro-long.js";
import { debezium } from "../pipeline.js";
import { sampleVoucher } from "../vouchers.js";
import { type Booking, expectedBooking } from "./expected.js";
import type { Rng } from "./prng.js";
import {
  contractSchema,
  EXTRA_VALUES,
  OPTIONAL_DROPS,
  REQUIRED_DROPS,
  randomValueOf,
  type VariantSchema,
  variantSubject,
} from "./variants.js";
import { avroBody, decodesAs, frame, RawBytes, RawUtf8, recordBatchBytes } from "./wire.js";
import type { FuzzMerchant, FuzzWorld } from "./world.js";

/**
 * The fuzz corpus of issue 7 ("No record can stall the books"): malformed inputs of every
 * kind across the four source topics, interleaved with good events, each carrying the outcome
 * the product's rules (SPEC §3, §5, §6; CONTRACTS field limits) require of it.
 */
export type Expect =
  | { kind: "book"; booking: Booking }
  | { kind: "dead"; reason: DeadLetterReason; oversize?: boolean };

export interface FuzzInput {
  /** Position in the corpus (stable for a seed). */
  n: number;
  cls: string;
  /** A short human description of the input. */
  what: string;
  topic: SourceTopic;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  expect: Expect;
  /** Inputs sharing a group are published next to each other on one partition. */
  group?: string;
  /** Where it was published (set by publishInputs). */
  partition?: number;
  offset?: string;
}

export function outcomeOf(e: Expect): string {
  if (e.kind === "dead") return e.reason;
  if (e.booking.vouchers.length > 0) return "booked";
  return `skipped ${[...new Set(e.booking.skips)].join("+")}`;
}

export interface CorpusOptions {
  rng: Rng;
  world: FuzzWorld;
  /** Registry id of a subject: the contract's (`<topic>-value`) or a variant's (variantSubject). */
  schemaId: (subject: string) => number;
  variants: readonly VariantSchema[];
  /** The broker's max.message.bytes for the source topics. */
  maxMessageBytes: number;
}

type Ev = PaymentSucceeded | PurchaseOrderReceived | InventoryIssuedForSale | InventoryAdjusted;
type MoneyRule = "positive" | "nonNegative" | "signed" | "total" | "tendered";

interface Field<V> {
  topic: SourceTopic;
  name: string;
  set(e: Ev, v: V): void;
}

interface MoneyField extends Field<Money | RawBytes> {
  rule: MoneyRule;
}

const MAX = money("999999999999999.9999");
const T_MAX = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
const CONTROL_CHARS = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
];
const UNICODE_BITS = [
  "🧾",
  "👩‍👩‍👧",
  "𠜎𠜱",
  "𝔘𝔫𝔦",
  "متجر",
  "עברית",
  "\u202Eabc\u202C",
  "\uFFFD",
  "e\u0301",
  "Ǹ̶̢",
  "각",
  "\uFEFF",
  "Ω≈ç√",
];
const NAMES = ["Nguyễn Thị Lan", "Trần Văn Bình", "Lê Hoàng", "Anh 🐉", "محمد", "אברהם"];
const KEYS: Record<SourceTopic, (e: Ev) => string> = {
  [SOURCE_TOPICS.paymentSuccess]: (e) => (e as PaymentSucceeded).saleOrderId,
  [SOURCE_TOPICS.purchaseOrderReceived]: (e) => (e as PurchaseOrderReceived).purchaseOrderId,
  [SOURCE_TOPICS.inventoryIssuedForSale]: (e) => (e as InventoryIssuedForSale).saleOrderId,
  [SOURCE_TOPICS.inventoryAdjusted]: (e) => (e as InventoryAdjusted).inventoryTrackingId,
};

const short = (s: string, n = 24) => {
  const j = JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);
  return s.length > n ? `${j} (${s.length} chars)` : j;
};

/** The event as a reader decodes it: raw strings become their UTF-8 decoding. */
function decodedView<T>(v: T): T {
  if (v instanceof RawUtf8) return v.text as T;
  if (isMoney(v) || v === null || typeof v !== "object" || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(decodedView) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodedView(x)])) as T;
}

/** A deep copy that keeps decimals (immutable) and raw strings as they are. */
function cloneEvent<T>(v: T): T {
  if (isMoney(v) || v instanceof RawUtf8 || v instanceof RawBytes || v === null || typeof v !== "object")
    return v;
  if (Array.isArray(v)) return v.map(cloneEvent) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneEvent(x)])) as T;
}

const str = (s: string | RawUtf8) => (s instanceof RawUtf8 ? s.bytes : Buffer.from(s));

class Gen {
  readonly inputs: FuzzInput[] = [];
  private seq = 0;
  private readonly rng: Rng;
  private readonly world: FuzzWorld;

  constructor(private readonly o: CorpusOptions) {
    this.rng = o.rng;
    this.world = o.world;
  }

  // ---- ids, amounts, times ---------------------------------------------------------------

  id(prefix: string): string {
    return `fz-${prefix}-${this.world.run}-${++this.seq}`;
  }
  private when(): number {
    return Date.UTC(2020, 0, 1) + this.rng.int(0, 10 * 365 * 86_400) * 1000 + this.rng.int(0, 999);
  }
  /** A positive amount up to 10^9 with at most `places` decimal places. */
  amount(places = 4): Money {
    const int = this.rng.int(0, 10 ** this.rng.int(0, 9) - 1);
    const p = this.rng.int(0, places);
    const frac = p === 0 ? "" : `.${String(this.rng.int(0, 10 ** p - 1)).padStart(p, "0")}`;
    const m = money(`${int}${frac}`);
    return m.isZero() ? money(1) : m;
  }
  merchant(): FuzzMerchant {
    return this.rng.chance(0.6) ? this.world.M : this.rng.pick(this.world.merchants);
  }
  pick<T>(xs: readonly T[]): T {
    return this.rng.pick(xs);
  }
  unicodeId(prefix: string): string {
    const bits = Array.from({ length: this.rng.int(1, 3) }, () => this.pick(UNICODE_BITS)).join("");
    return `${this.id(prefix)}-${bits}`;
  }
  longId(prefix: string, length: number): string {
    return `${this.id(prefix)}-`.padEnd(length, "x");
  }

  // ---- good events ---------------------------------------------------------------------------

  payment(m = this.merchant(), places = 4): PaymentSucceeded {
    const attempts: PaymentAttempt[] = Array.from({ length: this.rng.int(1, 3) }, (_, i) => {
      const method = this.pick(["CASH", "CARD", "BANK_TRANSFER", "EWALLET"]);
      const amount = this.amount(places);
      const tendered =
        method === "CASH" ? (this.rng.chance(0.4) ? amount : amount.plus(this.amount(places))) : null;
      const routed = this.rng.chance(0.85);
      return {
        uid: `att-${i + 1}`,
        method,
        amount,
        tendered,
        finance: routed ? { source: { id: this.pick(m.moneyAccounts) } } : null,
      };
    });
    const first = attempts[0] as PaymentAttempt;
    if (!attempts.some((a) => a.finance !== null))
      first.finance = { source: { id: this.pick(m.moneyAccounts) } };
    return {
      eventId: this.id("evt"),
      occurredAt: this.when(),
      merchantId: m.id,
      currency: "VND",
      saleOrderId: this.id("so"),
      saleOrderCode: `SO-${this.seq}`,
      orderTotal: attempts.reduce((s, a) => s.plus(a.amount), money(0)),
      customer: this.rng.chance(0.6) ? { id: this.id("cust"), name: this.pick(NAMES) } : null,
      attempts,
    };
  }

  purchase(m = this.merchant(), places = 4, poId?: string): PurchaseOrderReceived {
    return {
      eventId: this.id("evt"),
      occurredAt: this.when(),
      merchantId: m.id,
      currency: "VND",
      purchaseOrderId: this.world.purchaseOrder(m, `PO-${this.seq}`, m.vendorId, poId),
      receivedValue: this.rng.chance(0.2) ? money(0) : this.amount(places),
      payments: Array.from({ length: this.rng.int(1, 3) }, (_, i) => ({
        uid: `pay-${i + 1}`,
        accountId: this.pick(m.moneyAccounts),
        amount: this.amount(places),
      })),
    };
  }

  cogs(m = this.merchant(), places = 4): InventoryIssuedForSale {
    return {
      eventId: this.id("evt"),
      occurredAt: this.when(),
      merchantId: m.id,
      currency: "VND",
      saleOrderId: this.id("so"),
      saleOrderCode: this.rng.chance(0.7) ? `SO-${this.seq}` : null,
      attemptUid: this.id("att"),
      costBasis: this.amount(places),
    };
  }

  adjust(m = this.merchant(), places = 4): InventoryAdjusted {
    const delta = this.amount(places);
    return {
      eventId: this.id("evt"),
      occurredAt: this.when(),
      merchantId: m.id,
      currency: "VND",
      inventoryTrackingId: this.id("it"),
      productVariantId: this.id("pv"),
      valueDelta: this.rng.chance(0.5) ? delta : delta.negated(),
      reason: this.rng.chance(0.6) ? this.pick(["Hàng hỏng", "Kiểm kê", "Stock count", "Damaged 📦"]) : null,
    };
  }

  event(topic: SourceTopic, m = this.merchant(), places = 4): Ev {
    switch (topic) {
      case SOURCE_TOPICS.paymentSuccess:
        return this.payment(m, places);
      case SOURCE_TOPICS.purchaseOrderReceived:
        return this.purchase(m, places);
      case SOURCE_TOPICS.inventoryIssuedForSale:
        return this.cogs(m, places);
      case SOURCE_TOPICS.inventoryAdjusted:
        return this.adjust(m, places);
    }
  }

  topic(): SourceTopic {
    return this.pick(ALL_SOURCE_TOPICS);
  }

  // ---- fields --------------------------------------------------------------------------------

  private attempt(e: Ev): PaymentAttempt {
    return this.pick((e as PaymentSucceeded).attempts);
  }

  /** Identifier fields a mutation may touch (references included). */
  idFields(topic: SourceTopic): Field<string | RawUtf8>[] {
    const f = (name: string, set: (e: Ev, v: string) => void): Field<string | RawUtf8> => ({
      topic,
      name,
      set: (e, v) => set(e, v as string),
    });
    const envelope = [
      f("eventId", (e, v) => {
        e.eventId = v;
      }),
      f("merchantId", (e, v) => {
        e.merchantId = v;
      }),
    ];
    switch (topic) {
      case SOURCE_TOPICS.paymentSuccess:
        return [
          ...envelope,
          f("saleOrderId", (e, v) => {
            (e as PaymentSucceeded).saleOrderId = v;
          }),
          f("saleOrderCode", (e, v) => {
            (e as PaymentSucceeded).saleOrderCode = v;
          }),
          f("customer.id", (e, v) => {
            const p = e as PaymentSucceeded;
            p.customer = { id: v, name: p.customer?.name ?? "Lan" };
          }),
          f("attempts[].uid", (e, v) => {
            this.attempt(e).uid = v;
          }),
          f("attempts[].finance.source.id", (e, v) => {
            this.attempt(e).finance = { source: { id: v } };
          }),
        ];
      case SOURCE_TOPICS.purchaseOrderReceived:
        return [
          ...envelope,
          f("purchaseOrderId", (e, v) => {
            (e as PurchaseOrderReceived).purchaseOrderId = v;
          }),
          f("payments[].uid", (e, v) => {
            this.pick((e as PurchaseOrderReceived).payments).uid = v;
          }),
          f("payments[].accountId", (e, v) => {
            this.pick((e as PurchaseOrderReceived).payments).accountId = v;
          }),
        ];
      case SOURCE_TOPICS.inventoryIssuedForSale:
        return [
          ...envelope,
          f("saleOrderId", (e, v) => {
            (e as InventoryIssuedForSale).saleOrderId = v;
          }),
          f("saleOrderCode", (e, v) => {
            (e as InventoryIssuedForSale).saleOrderCode = v;
          }),
          f("attemptUid", (e, v) => {
            (e as InventoryIssuedForSale).attemptUid = v;
          }),
        ];
      case SOURCE_TOPICS.inventoryAdjusted:
        return [
          ...envelope,
          f("inventoryTrackingId", (e, v) => {
            (e as InventoryAdjusted).inventoryTrackingId = v;
          }),
          f("productVariantId", (e, v) => {
            (e as InventoryAdjusted).productVariantId = v;
          }),
        ];
    }
  }

  /** Identifiers that name nothing in the tables: any value within limits books. */
  freeIdFields(topic: SourceTopic): Field<string | RawUtf8>[] {
    const refs = ["merchantId", "purchaseOrderId", "attempts[].finance.source.id", "payments[].accountId"];
    return this.idFields(topic).filter((f) => !refs.includes(f.name));
  }

  textFields(): { topic: SourceTopic; field: Field<string> }[] {
    return [
      {
        topic: SOURCE_TOPICS.paymentSuccess,
        field: {
          topic: SOURCE_TOPICS.paymentSuccess,
          name: "customer.name",
          set: (e, v) => {
            const p = e as PaymentSucceeded;
            p.customer = { id: p.customer?.id ?? this.id("cust"), name: v };
          },
        },
      },
      {
        topic: SOURCE_TOPICS.inventoryAdjusted,
        field: {
          topic: SOURCE_TOPICS.inventoryAdjusted,
          name: "reason",
          set: (e, v) => {
            (e as InventoryAdjusted).reason = v;
          },
        },
      },
    ];
  }

  moneyFields(topic: SourceTopic): MoneyField[] {
    const f = (name: string, rule: MoneyRule, set: (e: Ev, v: Money) => void): MoneyField => ({
      topic,
      name,
      rule,
      set: (e, v) => set(e, v as Money),
    });
    switch (topic) {
      case SOURCE_TOPICS.paymentSuccess:
        return [
          f("orderTotal", "total", (e, v) => {
            (e as PaymentSucceeded).orderTotal = v;
          }),
          f("attempts[].amount", "positive", (e, v) => {
            const a = this.attempt(e);
            a.amount = v;
            a.tendered = null;
          }),
          f("attempts[].tendered", "tendered", (e, v) => {
            this.attempt(e).tendered = v;
          }),
        ];
      case SOURCE_TOPICS.purchaseOrderReceived:
        return [
          f("receivedValue", "nonNegative", (e, v) => {
            (e as PurchaseOrderReceived).receivedValue = v;
          }),
          f("payments[].amount", "positive", (e, v) => {
            this.pick((e as PurchaseOrderReceived).payments).amount = v;
          }),
        ];
      case SOURCE_TOPICS.inventoryIssuedForSale:
        return [
          f("costBasis", "nonNegative", (e, v) => {
            (e as InventoryIssuedForSale).costBasis = v;
          }),
        ];
      case SOURCE_TOPICS.inventoryAdjusted:
        return [
          f("valueDelta", "signed", (e, v) => {
            (e as InventoryAdjusted).valueDelta = v;
          }),
        ];
    }
  }

  // ---- encoding ------------------------------------------------------------------------------

  /** Framed Avro of a topic's event with the contract schema or a registered variant. */
  encode(topic: SourceTopic, event: unknown, variant?: string, scale = 4): Buffer {
    if (!variant)
      return frame(this.o.schemaId(valueSubject(topic)), avroBody(contractSchema(topic), event, scale));
    const v = this.o.variants.find((x) => x.name === variant);
    if (!v) throw new Error(`fuzz harness: no variant ${variant}`);
    return frame(this.o.schemaId(variantSubject(variant)), avroBody(v.schema, event, scale));
  }

  keyOf(topic: SourceTopic, event: Ev): Buffer {
    return str(KEYS[topic](event) as string | RawUtf8);
  }

  // ---- inputs --------------------------------------------------------------------------------

  private push(input: Omit<FuzzInput, "n">): FuzzInput {
    const full = { n: this.inputs.length, ...input };
    this.inputs.push(full);
    return full;
  }

  /** A valid event: its outcome is what SPEC §3 books for it (as the reader decodes it). */
  valid(
    cls: string,
    what: string,
    topic: SourceTopic,
    event: Ev,
    opts: { value?: Buffer; key?: Buffer | null; headers?: IHeaders; decoded?: Ev; group?: string } = {},
  ): FuzzInput {
    return this.push({
      cls,
      what,
      topic,
      key: opts.key === undefined ? this.keyOf(topic, event) : opts.key,
      value: opts.value ?? this.encode(topic, event),
      headers: opts.headers ?? {},
      expect: { kind: "book", booking: expectedBooking(topic, decodedView(opts.decoded ?? event)) },
      ...(opts.group ? { group: opts.group } : {}),
    });
  }

  dead(
    cls: string,
    what: string,
    topic: SourceTopic,
    reason: DeadLetterReason,
    value: Buffer | null,
    opts: { key?: Buffer | null; headers?: IHeaders; group?: string; oversize?: boolean } = {},
  ): FuzzInput {
    return this.push({
      cls,
      what,
      topic,
      key: opts.key === undefined ? Buffer.from(this.id("key")) : opts.key,
      value,
      headers: opts.headers ?? {},
      expect: opts.oversize ? { kind: "dead", reason, oversize: true } : { kind: "dead", reason },
      ...(opts.group ? { group: opts.group } : {}),
    });
  }

  /** A valid event with one field changed to something the rules refuse. */
  mutated<V>(
    cls: string,
    reason: DeadLetterReason,
    fields: Field<V>[],
    value: V,
    describe: string,
    opts: { variant?: string; scale?: number } = {},
  ): FuzzInput {
    const field = this.pick(fields);
    const event = this.event(field.topic);
    field.set(event, value);
    return this.dead(
      cls,
      `${field.topic} ${field.name} ${describe}`,
      field.topic,
      reason,
      this.encode(field.topic, event, opts.variant, opts.scale),
      { key: this.keyOf(field.topic, event) },
    );
  }

  // ---- keys and headers ----------------------------------------------------------------------

  oddKey(): Buffer | null {
    switch (this.rng.int(0, 4)) {
      case 0:
        return null;
      case 1:
        return Buffer.alloc(0);
      case 2:
        return Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), this.rng.bytes(this.rng.int(0, 40))]);
      case 3:
        return Buffer.from(`🔑-${this.id("k")}-${"k".repeat(this.rng.int(0, 10_000))}`);
      default:
        return Buffer.from([0x00, 0x80, 0xbf, 0xc0, 0xaf, 0xed, 0xa0, 0x80]);
    }
  }

  oddHeaders(): IHeaders {
    return {
      "x-trace": `trace-${this.id("t")}`,
      "x-bin": Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), this.rng.bytes(this.rng.int(0, 30))]),
      "x-repeated": [Buffer.from([0xc3]), "two", "", Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])],
      "x-empty": "",
      "ключ-🔑": Buffer.from([0xfe, 0xff, 0x00, 0x01]),
    };
  }

  manyHeaders(n = 1_000): IHeaders {
    const h: IHeaders = {};
    for (let i = 0; i < n; i++) h[`h-${i}`] = i % 7 === 0 ? this.rng.bytes(12) : `v${i}`;
    h["h-repeated"] = Array.from({ length: 50 }, (_, i) => (i % 2 ? this.rng.bytes(4) : `r${i}`));
    return h;
  }

  bigHeaders(total: number): IHeaders {
    const h: IHeaders = {};
    const each = 10_000;
    for (let i = 0; i * each < total; i++) {
      h[`big-${i}`] =
        i % 2
          ? this.rng.bytes(Math.min(each, total - i * each))
          : "b".repeat(Math.min(each, total - i * each));
    }
    return h;
  }

  // ---- bad inputs of one kind each (used by several classes) ----------------------------------

  /** Random bytes that are not in the registry wire format (first byte is not the magic 0). */
  randomBytes(): Buffer {
    const b = this.rng.bytes(this.rng.int(1, 300));
    b[0] = this.rng.int(1, 255);
    return b;
  }
}

/** Builds the corpus. Class names are `<area>.<what>`; every class has a fixed expected outcome. */
export function generateCorpus(o: CorpusOptions): FuzzInput[] {
  const g = new Gen(o);
  const { rng, world } = o;
  const times = (n: number, f: (i: number) => void) => {
    for (let i = 0; i < n; i++) f(i);
  };
  const topics = ALL_SOURCE_TOPICS;
  const allIdFields = topics.flatMap((t) => g.idFields(t));
  const allMoneyFields = topics.flatMap((t) => g.moneyFields(t));
  const textFields = g.textFields().map((t) => t.field);

  // ---------------------------------------------------------------- good events
  times(170, (i) => {
    const topic = topics[i % topics.length] as SourceTopic;
    g.valid("good.plain", `${topic} event`, topic, g.event(topic));
  });
  // Boundaries that are still valid.
  for (const field of topics.flatMap((t) => g.freeIdFields(t))) {
    const e = g.event(field.topic);
    field.set(e, g.longId("b255", 255));
    g.valid("good.boundary", `${field.topic} ${field.name} of exactly 255 chars`, field.topic, e);
  }
  for (const field of textFields) {
    const e = g.event(field.topic);
    field.set(e, `${"t".repeat(996)}\n\t🧾`);
    g.valid("good.boundary", `${field.topic} ${field.name} of 1000 UTF-16 units`, field.topic, e);
  }
  const longMerchant = world.merchants.at(-1) as FuzzMerchant;
  for (const topic of topics) {
    g.valid("good.boundary", `${topic} merchantId of 255 chars`, topic, g.event(topic, longMerchant));
    for (const t of [0, T_MAX]) {
      const e = g.event(topic);
      e.occurredAt = t;
      g.valid("good.boundary", `${topic} occurredAt ${new Date(t).toISOString()}`, topic, e);
    }
  }
  {
    const s = g.payment(world.M);
    s.attempts = [
      {
        uid: "a",
        method: "CARD",
        amount: MAX,
        tendered: null,
        finance: { source: { id: world.M.moneyAccounts[0] as string } },
      },
    ];
    g.valid(
      "good.boundary",
      "payment.success attempt amount 999999999999999.9999",
      SOURCE_TOPICS.paymentSuccess,
      s,
    );
    const c = g.payment(world.M);
    c.attempts = [
      {
        uid: "a",
        method: "CASH",
        amount: money("0.0001"),
        tendered: MAX,
        finance: { source: { id: world.M.moneyAccounts[0] as string } },
      },
    ];
    g.valid("good.boundary", "payment.success amount 0.0001 tendered max", SOURCE_TOPICS.paymentSuccess, c);
    const p = g.purchase(world.M);
    p.receivedValue = money(0);
    p.payments = [{ uid: "p", accountId: world.M.moneyAccounts[0] as string, amount: MAX }];
    g.valid(
      "good.boundary",
      "purchase-order.received one payment of the max, received 0",
      SOURCE_TOPICS.purchaseOrderReceived,
      p,
    );
    const r = g.purchase(world.M);
    r.receivedValue = MAX;
    r.payments = [{ uid: "p", accountId: world.M.moneyAccounts[0] as string, amount: money("0.0001") }];
    g.valid(
      "good.boundary",
      "purchase-order.received received the max, paid 0.0001",
      SOURCE_TOPICS.purchaseOrderReceived,
      r,
    );
    const k = g.cogs();
    k.costBasis = MAX;
    g.valid(
      "good.boundary",
      "inventory.issued-for-sale costBasis max",
      SOURCE_TOPICS.inventoryIssuedForSale,
      k,
    );
    for (const d of [MAX.negated(), money("0.0001"), money("-0.0001")]) {
      const a = g.adjust();
      a.valueDelta = d;
      g.valid(
        "good.boundary",
        `inventory.adjusted valueDelta ${d.toString()}`,
        SOURCE_TOPICS.inventoryAdjusted,
        a,
      );
    }
  }
  // Unicode in ids within limits.
  times(30, (i) => {
    const topic = topics[i % topics.length] as SourceTopic;
    const field = g.pick(g.freeIdFields(topic));
    const e = g.event(topic);
    const v = g.unicodeId("u");
    field.set(e, v);
    g.valid("good.unicode-id", `${topic} ${field.name} ${short(v, 40)}`, topic, e);
  });
  for (const m of world.merchants.slice(1, 4)) {
    for (const topic of topics)
      g.valid("good.unicode-id", `${topic} merchantId ${short(m.id, 30)}`, topic, g.event(topic, m));
  }
  {
    const e = g.purchase(world.M, 4, g.unicodeId("po"));
    g.valid(
      "good.unicode-id",
      `purchase-order.received purchaseOrderId ${short(e.purchaseOrderId, 40)}`,
      SOURCE_TOPICS.purchaseOrderReceived,
      e,
    );
  }
  // Invalid UTF-8 inside Avro strings: readers see U+FFFD.
  const badUtf8 = [
    [0xff],
    [0xc3],
    [0xed, 0xa0, 0x80],
    [0xc0, 0xaf],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xe2, 0x82],
  ];
  times(8, (i) => {
    const topic = topics[i % topics.length] as SourceTopic;
    const field = g.pick(g.freeIdFields(topic));
    const e = g.event(topic);
    const raw = new RawUtf8(Buffer.concat([Buffer.from(g.id("raw")), Buffer.from(g.pick(badUtf8))]));
    field.set(e, raw);
    g.valid(
      "good.invalid-utf8-id",
      `${topic} ${field.name} bytes …${raw.bytes.subarray(-4).toString("hex")}`,
      topic,
      e,
    );
  });
  {
    const fffd = world.fffdMerchant;
    const rawMerchant = new RawUtf8(Buffer.concat([Buffer.from(fffd.id.slice(0, -1)), Buffer.from([0xff])]));
    for (const topic of topics) {
      const e = g.event(topic, fffd);
      e.merchantId = rawMerchant as unknown as string;
      g.valid("good.invalid-utf8-id", `${topic} merchantId ending in byte ff`, topic, e);
    }
    const rawAccount = new RawUtf8(
      Buffer.concat([Buffer.from(world.fffdAccount.slice(0, -1)), Buffer.from([0xc3])]),
    );
    const s = g.payment(world.M);
    (s.attempts[0] as PaymentAttempt).finance = { source: { id: rawAccount as unknown as string } };
    g.valid(
      "good.invalid-utf8-id",
      "payment.success finance.source.id ending in byte c3",
      SOURCE_TOPICS.paymentSuccess,
      s,
    );
    const poId = `${g.id("po")}-\uFFFD`;
    const p = g.purchase(world.M, 4, poId);
    p.purchaseOrderId = new RawUtf8(
      Buffer.concat([Buffer.from(poId.slice(0, -1)), Buffer.from([0xfe])]),
    ) as unknown as string;
    p.payments = [{ uid: "p", accountId: rawAccount as unknown as string, amount: money("12.5") }];
    g.valid(
      "good.invalid-utf8-id",
      "purchase-order.received purchaseOrderId and accountId with bad bytes",
      SOURCE_TOPICS.purchaseOrderReceived,
      p,
    );
  }
  // Free text: anything within limits books.
  times(20, () => {
    const field = g.pick(textFields);
    const e = g.event(field.topic);
    const text = `${g.pick(NAMES)}\n\tdòng 2\r\n${g.pick(UNICODE_BITS)} ${g.pick(UNICODE_BITS)} a\u0301\u0308 שלום 👩‍💻`;
    field.set(e, text);
    g.valid("good.free-text", `${field.topic} ${field.name} ${short(text)}`, field.topic, e);
  });
  // SPEC §3: a voucher is in its merchant's book currency, and finance converts nothing.
  for (const currency of ["USD", "EUR", "JPY", "XAU", "KRW", "THB"]) {
    const topic = g.topic();
    const e = g.event(topic);
    e.currency = currency;
    const what = `${topic} currency ${currency} for a VND merchant`;
    g.dead("bad.currency-not-book", what, topic, "INVALID_PAYLOAD", g.encode(topic, e));
  }
  // Writer schemas that resolve to ours.
  for (const topic of topics) {
    for (const f of OPTIONAL_DROPS[topic]) {
      times(3, () => {
        const e = g.event(topic);
        const decoded = cloneEvent(e);
        if (f === "currency") {
          e.currency = "USD"; // not written: the writer has no such field
          decoded.currency = "VND";
        } else if (f === "customer") (decoded as PaymentSucceeded).customer = null;
        else if (f === "PaymentAttempt.tendered")
          for (const a of (decoded as PaymentSucceeded).attempts) a.tendered = null;
        else if (f === "PaymentAttempt.finance")
          for (const a of (decoded as PaymentSucceeded).attempts) a.finance = null;
        else if (f === "saleOrderCode") (decoded as InventoryIssuedForSale).saleOrderCode = null;
        else if (f === "reason") (decoded as InventoryAdjusted).reason = null;
        g.valid("good.writer-without-optional", `${topic} writer without ${f}`, topic, e, {
          value: g.encode(topic, e, `${topic}.without-${f}`),
          decoded,
        });
      });
    }
    times(4, () => {
      const e = g.event(topic);
      const wire = {
        ...cloneEvent(e),
        ...EXTRA_VALUES,
        ...("attempts" in e
          ? { attempts: e.attempts.map((a, i) => ({ ...a, cardLast4: i % 2 ? null : "4242" })) }
          : {}),
        ...("payments" in e ? { payments: e.payments.map((p) => ({ ...p, note: "ghi chú" })) } : {}),
      };
      g.valid("good.writer-extra-fields", `${topic} writer with extra fields`, topic, e, {
        value: g.encode(topic, wire, `${topic}.extra-fields`),
      });
    });
    times(3, () => {
      const e = g.event(topic, g.merchant(), 2);
      g.valid("good.writer-decimal-scale-2", `${topic} decimals written with scale 2`, topic, e, {
        value: g.encode(topic, e, `${topic}.scale-2`, 2),
      });
    });
    times(3, () => {
      const e = g.event(topic);
      g.valid("good.writer-decimal-plain-bytes", `${topic} decimals written as plain bytes`, topic, e, {
        value: g.encode(topic, e, `${topic}.plain-bytes`),
      });
    });
    times(2, () => {
      const e = g.event(topic, g.merchant(), 4);
      g.valid("good.writer-decimal-scale-6", `${topic} decimals written with scale 6, ≤ 4 places`, topic, e, {
        value: g.encode(topic, e, `${topic}.scale-6`, 6),
      });
    });
  }
  // Clean short-circuits.
  times(8, () => {
    const e = g.cogs();
    e.costBasis = money(0);
    g.valid("skip.zero-cost-basis", "costBasis 0", SOURCE_TOPICS.inventoryIssuedForSale, e);
    const a = g.adjust();
    a.valueDelta = money(0);
    g.valid("skip.zero-value-delta", "valueDelta 0", SOURCE_TOPICS.inventoryAdjusted, a);
    const p = g.purchase();
    p.payments = [];
    g.valid("skip.no-payments", "payments empty", SOURCE_TOPICS.purchaseOrderReceived, p);
    const s = g.payment();
    for (const at of s.attempts) at.finance = null;
    g.valid(
      "skip.unrouted-attempts",
      `${s.attempts.length} attempts, finance null`,
      SOURCE_TOPICS.paymentSuccess,
      s,
    );
  });
  // Odd keys and headers on good events.
  times(25, () => {
    const topic = g.topic();
    g.valid("good.odd-key-and-headers", `${topic} event, odd key, non-UTF-8 headers`, topic, g.event(topic), {
      key: g.oddKey(),
      headers: g.oddHeaders(),
    });
  });
  times(4, () => {
    const topic = g.topic();
    g.valid("good.many-headers", `${topic} event with 1,050 headers`, topic, g.event(topic), {
      headers: g.manyHeaders(),
    });
  });
  times(3, () => {
    const topic = g.topic();
    g.valid("good.350KB-headers", `${topic} event with 350 KB of headers`, topic, g.event(topic), {
      headers: g.bigHeaders(350_000),
    });
  });

  // ---------------------------------------------------------------- UNDECODABLE
  times(70, () => {
    const b = g.randomBytes();
    g.dead("wire.random-bytes", `${b.length} random bytes`, g.topic(), "UNDECODABLE", b);
  });
  times(6, () => g.dead("wire.empty-value", "empty value", g.topic(), "UNDECODABLE", Buffer.alloc(0)));
  times(6, () => g.dead("wire.null-value", "null value (tombstone)", g.topic(), "UNDECODABLE", null));
  times(20, () => {
    const topic = g.topic();
    const magic = rng.int(1, 255);
    const e = g.event(topic);
    const v = g.encode(topic, e);
    v[0] = magic;
    g.dead("wire.wrong-magic-byte", `valid Avro behind magic byte ${magic}`, topic, "UNDECODABLE", v);
  });
  times(12, (i) => {
    const b = Buffer.concat([Buffer.from([0]), rng.bytes(i % 4)]);
    g.dead("wire.shorter-than-header", `${b.length} bytes starting with 0`, g.topic(), "UNDECODABLE", b);
  });
  const unknownIds = [999_999, 0x7fffffff, -1, -0x80000000, 123_456_789, 77_777_777];
  times(24, (i) => {
    const topic = g.topic();
    const id = unknownIds[i % unknownIds.length] as number;
    const body = g.encode(topic, g.event(topic)).subarray(5);
    g.dead("wire.unknown-schema-id", `schema id ${id}`, topic, "UNDECODABLE", frame(id, body));
  });
  times(40, () => {
    const topic = g.topic();
    const v = g.encode(topic, g.event(topic));
    const cut = rng.int(5, v.length - 1);
    if (decodesAs(contractSchema(topic), v.subarray(5, cut)))
      throw new Error("fuzz harness: truncation decodes");
    g.dead(
      "avro.truncated",
      `${topic} payload cut at ${cut} of ${v.length} bytes`,
      topic,
      "UNDECODABLE",
      v.subarray(0, cut),
    );
  });
  times(40, () => {
    const topic = g.topic();
    const v = Buffer.concat([g.encode(topic, g.event(topic)), rng.bytes(rng.int(1, 50))]);
    if (decodesAs(contractSchema(topic), v.subarray(5)))
      throw new Error("fuzz harness: trailing data decodes");
    g.dead("avro.trailing-garbage", `${topic} payload with trailing bytes`, topic, "UNDECODABLE", v);
  });
  times(40, () => {
    const topic = g.topic();
    let body = rng.bytes(rng.int(0, 200));
    while (decodesAs(contractSchema(topic), body)) body = rng.bytes(rng.int(0, 200));
    g.dead(
      "avro.random-body",
      `${topic} id, ${body.length} random body bytes`,
      topic,
      "UNDECODABLE",
      frame(o.schemaId(valueSubject(topic)), body),
    );
  });

  // ---------------------------------------------------------------- INVALID_PAYLOAD: other writers
  for (const topic of topics) {
    for (const other of topics.filter((t) => t !== topic)) {
      times(2, () => {
        const e = g.event(other);
        g.dead(
          "schema.other-topic-record",
          `${other} record on ${topic}`,
          topic,
          "INVALID_PAYLOAD",
          g.encode(other, e),
          {
            key: g.keyOf(other, e),
          },
        );
      });
    }
  }
  const cdcTables: [string, string, () => Record<string, unknown>][] = [
    [
      CDC_TOPICS.merchant,
      "merchant",
      () => ({ id: g.id("cm"), name: "x", currency: "VND", status: "ACTIVE", created_at: null }),
    ],
    [
      CDC_TOPICS.vendor,
      "vendor",
      () => ({ id: g.id("cv"), merchant_id: world.M.id, name: "v", status: "ACTIVE" }),
    ],
    [
      CDC_TOPICS.purchaseOrder,
      "purchase_order",
      () => ({ id: g.id("cp"), merchant_id: world.M.id, code: "c", vendor_id: "v", status: "R" }),
    ],
    [
      CDC_TOPICS.financeAccount,
      "finance_account",
      () => ({
        id: g.id("ca"),
        merchant_id: world.M.id,
        code: null,
        name: "n",
        type: "MONEY",
        status: "ACTIVE",
      }),
    ],
  ];
  times(12, (i) => {
    const [cdcTopic, table, row] = cdcTables[i % cdcTables.length] as (typeof cdcTables)[number];
    const topic = g.topic();
    const r = row();
    const value =
      i % 3 === 2
        ? frame(o.schemaId(keySubject(cdcTopic)), avroBody(loadSchema(keySubject(cdcTopic)), { id: r.id }))
        : frame(
            o.schemaId(valueSubject(cdcTopic)),
            avroBody(loadSchema(valueSubject(cdcTopic)), debezium(table, "c", r)),
          );
    g.dead(
      "schema.cdc-record",
      `${cdcTopic} ${i % 3 === 2 ? "key" : "envelope"} on ${topic}`,
      topic,
      "INVALID_PAYLOAD",
      value,
    );
  });
  times(4, () => {
    const topic = g.topic();
    const v = sampleVoucher(g.id("v"), { merchantId: world.M.id });
    g.dead(
      "schema.voucher-record",
      `finance.voucher record on ${topic}`,
      topic,
      "INVALID_PAYLOAD",
      frame(o.schemaId(valueSubject(VOUCHER_TOPIC)), avroBody(loadSchema(valueSubject(VOUCHER_TOPIC)), v)),
    );
  });
  const randoms = o.variants.filter((v) => v.name.startsWith("random-"));
  times(26, (i) => {
    const v = randoms[i % randoms.length] as VariantSchema;
    const topic = g.topic();
    const value = frame(o.schemaId(variantSubject(v.name)), avroBody(v.schema, randomValueOf(rng, v.schema)));
    g.dead("schema.random-writer", `${v.name} on ${topic}`, topic, "INVALID_PAYLOAD", value);
  });
  for (const topic of topics) {
    for (const f of REQUIRED_DROPS[topic]) {
      times(2, () => {
        const e = g.event(topic);
        g.dead(
          "schema.writer-without-required",
          `${topic} writer without ${f}`,
          topic,
          "INVALID_PAYLOAD",
          g.encode(topic, e, `${topic}.without-${f}`),
          { key: g.keyOf(topic, e) },
        );
      });
    }
  }

  // ---------------------------------------------------------------- INVALID_PAYLOAD: field limits
  times(70, () => g.mutated("id.empty", "INVALID_PAYLOAD", allIdFields, "", `""`));
  times(70, () => {
    const n = g.pick([256, 256, 300, 1_000, 4_096]);
    g.mutated("id.too-long", "INVALID_PAYLOAD", allIdFields, g.longId("long", n), `of ${n} chars`);
  });
  times(8, () =>
    g.mutated("id.100KB", "INVALID_PAYLOAD", allIdFields, g.longId("huge", 100_000), "of 100,000 chars"),
  );
  times(120, () => {
    const c = String.fromCharCode(g.pick(CONTROL_CHARS));
    const base = g.id("ctl");
    const at = rng.int(0, base.length);
    const v = base.slice(0, at) + c + base.slice(at);
    const hex = c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    g.mutated("id.control-char", "INVALID_PAYLOAD", allIdFields, v, `with U+${hex} at ${at}`);
  });
  const currencyFields: Field<string>[] = topics.map((topic) => ({
    topic,
    name: "currency",
    set: (e: Ev, v: string) => {
      e.currency = v;
    },
  }));
  const badCurrencies = [
    "vnd",
    "VN",
    "VND ",
    "V\u0000D",
    " VND",
    "VNDD",
    "Vnd",
    "V1D",
    "ĐNG",
    "€UR",
    "VN\u0301",
    "USD\n",
    "",
    "ＵＳＤ",
  ];
  times(32, (i) => {
    const c = badCurrencies[i % badCurrencies.length] as string;
    g.mutated("currency.malformed", "INVALID_PAYLOAD", currencyFields, c, JSON.stringify(c));
  });
  times(30, () => {
    const [text, label] = g.pick([
      ["n".repeat(1_001), "1,001 chars"],
      ["🧾".repeat(1_001), "1,001 emoji"],
      ["x".repeat(5_000), "5,000 chars"],
      ["y".repeat(100_000), "100,000 chars"],
    ] as const);
    g.mutated("text.too-long", "INVALID_PAYLOAD", textFields, text, label);
  });
  times(20, () => {
    const text = g.pick(["Lan\u0000", "\u0000", "Nguyễn\u0000Thị", "a\nb\u0000"]);
    g.mutated("text.nul", "INVALID_PAYLOAD", textFields, text, JSON.stringify(text));
  });
  const timeFields: Field<number | bigint>[] = topics.map((topic) => ({
    topic,
    name: "occurredAt",
    set: (e: Ev, v: number | bigint) => {
      e.occurredAt = v as number;
    },
  }));
  times(15, (i) => {
    const t = [-1, -1000, -86_400_000, -rng.int(1, 2 ** 52), -(2 ** 53) + 1][i % 5] as number;
    g.mutated("time.before-1970", "INVALID_PAYLOAD", timeFields, t, String(t));
  });
  times(15, (i) => {
    const t = [T_MAX + 1, T_MAX + 86_400_000, rng.int(T_MAX + 1, 2 ** 53 - 1), 2 ** 53 - 1][i % 4] as number;
    g.mutated("time.after-9999", "INVALID_PAYLOAD", timeFields, t, String(t));
  });
  times(10, (i) => {
    const t = [2n ** 53n, 2n ** 53n + 1n, 2n ** 60n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 1n][
      i % 6
    ] as bigint;
    g.mutated("time.beyond-2^53", "INVALID_PAYLOAD", timeFields, t, String(t));
  });
  const constrained = allMoneyFields.filter((f) => f.rule !== "signed" && f.rule !== "total");
  /** Either sign where any sign is allowed, else positive. */
  const signFor = (v: Money, f: MoneyField) => (f.rule === "signed" && rng.chance(0.5) ? v.negated() : v);
  times(24, () => {
    const f = g.pick(allMoneyFields);
    // 5 or 6 places, the last one not zero (a scale-6 writer can say so; ours cannot).
    const places = `${String(rng.int(0, 9_999)).padStart(4, "0")}${rng.int(1, 9)}${rng.chance(0.5) ? rng.int(1, 9) : ""}`;
    const v = signFor(money(`${rng.int(0, 99_999)}.${places}`), f);
    if (v.decimalPlaces() <= 4) throw new Error("fuzz harness: not more than 4 places");
    const e = g.event(f.topic);
    f.set(e, v);
    g.dead(
      "money.more-than-4-places",
      `${f.topic} ${f.name} ${v.toString()} (writer scale 6)`,
      f.topic,
      "INVALID_PAYLOAD",
      g.encode(f.topic, e, `${f.topic}.scale-6`, 6),
      { key: g.keyOf(f.topic, e) },
    );
  });
  times(30, () => {
    const f = g.pick(allMoneyFields);
    const v = signFor(
      money(
        `${rng.int(1_000, 999_999)}${String(rng.int(0, 10 ** 12 - 1)).padStart(12, "0")}.${rng.int(0, 9999)}`,
      ),
      f,
    );
    g.mutated("money.more-than-15-digits", "INVALID_PAYLOAD", [f], v as Money | RawBytes, v.toString());
  });
  times(50, () => {
    const f = g.pick(constrained);
    const v = g.amount().negated();
    g.mutated("money.negative", "INVALID_PAYLOAD", [f], v as Money | RawBytes, v.toString());
  });
  times(20, () => {
    const f = g.pick(
      allMoneyFields.filter((x) => x.name === "attempts[].amount" || x.name === "payments[].amount"),
    );
    g.mutated("money.zero", "INVALID_PAYLOAD", [f], money(0) as Money | RawBytes, "0");
  });
  times(16, () => {
    const e = g.payment();
    const a = g.pick(e.attempts);
    a.amount = money(rng.int(2, 1_000_000));
    a.tendered = a.amount.minus(money(rng.int(1, 9_999)).div(10_000));
    g.dead(
      "money.tendered-below-amount",
      `tendered ${a.tendered.toString()} < amount ${a.amount.toString()}`,
      SOURCE_TOPICS.paymentSuccess,
      "INVALID_PAYLOAD",
      g.encode(SOURCE_TOPICS.paymentSuccess, e),
      { key: g.keyOf(SOURCE_TOPICS.paymentSuccess, e) },
    );
  });
  times(6, (i) => {
    const n = [1_024, 8_192, 65_536][i % 3] as number;
    const bytes = rng.bytes(n);
    bytes[0] = 0x7f;
    g.mutated(
      "money.huge-bytes",
      "INVALID_PAYLOAD",
      allMoneyFields,
      new RawBytes(bytes),
      `decimal of ${n} bytes`,
    );
  });
  times(6, () => {
    const e = g.purchase(world.M);
    e.payments = [
      { uid: "p1", accountId: world.M.moneyAccounts[0] as string, amount: MAX },
      { uid: "p2", accountId: world.M.moneyAccounts[0] as string, amount: g.amount() },
    ];
    g.dead(
      "money.total-overflow",
      "payments sum beyond numeric(19,4)",
      SOURCE_TOPICS.purchaseOrderReceived,
      "INVALID_PAYLOAD",
      g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
      { key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e) },
    );
  });
  times(10, () => {
    const e = g.payment();
    e.attempts = [];
    g.dead(
      "dup.empty-attempts",
      "payment.success with no attempts",
      SOURCE_TOPICS.paymentSuccess,
      "INVALID_PAYLOAD",
      g.encode(SOURCE_TOPICS.paymentSuccess, e),
      { key: g.keyOf(SOURCE_TOPICS.paymentSuccess, e) },
    );
  });
  times(16, () => {
    const e = g.payment();
    const a = e.attempts[0] as PaymentAttempt;
    e.attempts.push({ ...a, method: "CARD", tendered: null });
    g.dead(
      "dup.attempt-uids",
      `two attempts with uid ${a.uid}`,
      SOURCE_TOPICS.paymentSuccess,
      "INVALID_PAYLOAD",
      g.encode(SOURCE_TOPICS.paymentSuccess, e),
      { key: g.keyOf(SOURCE_TOPICS.paymentSuccess, e) },
    );
  });
  times(16, () => {
    const e = g.purchase();
    const p = e.payments[0] as PurchaseOrderReceived["payments"][number];
    e.payments.push({ ...p, amount: g.amount() });
    g.dead(
      "dup.payment-uids",
      `two payments with uid ${p.uid}`,
      SOURCE_TOPICS.purchaseOrderReceived,
      "INVALID_PAYLOAD",
      g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
      { key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e) },
    );
  });

  // ---------------------------------------------------------------- CROSS_TENANT, UNRESOLVED
  const foreign = world.OTHER.moneyAccounts;
  times(20, (i) => {
    if (i % 2 === 0) {
      const e = g.payment(world.M);
      const account = g.pick(foreign);
      g.pick(e.attempts).finance = { source: { id: account } };
      g.dead(
        "tenant.account",
        "payment attempt into OTHER's money account",
        SOURCE_TOPICS.paymentSuccess,
        "CROSS_TENANT",
        g.encode(SOURCE_TOPICS.paymentSuccess, e),
        { key: g.keyOf(SOURCE_TOPICS.paymentSuccess, e) },
      );
    } else {
      const e = g.purchase(world.M);
      g.pick(e.payments).accountId = g.pick(foreign);
      g.dead(
        "tenant.account",
        "purchase payment from OTHER's money account",
        SOURCE_TOPICS.purchaseOrderReceived,
        "CROSS_TENANT",
        g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
        { key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e) },
      );
    }
  });
  times(10, (i) => {
    const e = g.purchase(world.M);
    e.purchaseOrderId = i % 2 ? world.otherPo : world.crossVendorPo;
    g.dead(
      "tenant.purchase-order",
      i % 2 ? "OTHER's purchase order" : "purchase order with OTHER's vendor",
      SOURCE_TOPICS.purchaseOrderReceived,
      "CROSS_TENANT",
      g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
      {
        key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e),
      },
    );
  });
  times(4, (i) => {
    if (i % 2 === 0) {
      const e = g.payment(world.M);
      g.pick(e.attempts).finance = { source: { id: g.id("missing-acct") } };
      g.dead(
        "unresolved.account",
        "payment attempt into an account that does not exist",
        SOURCE_TOPICS.paymentSuccess,
        "UNRESOLVED",
        g.encode(SOURCE_TOPICS.paymentSuccess, e),
        { key: g.keyOf(SOURCE_TOPICS.paymentSuccess, e) },
      );
    } else {
      const e = g.purchase(world.M);
      g.pick(e.payments).accountId = g.id("missing-acct");
      g.dead(
        "unresolved.account",
        "purchase payment from an account that does not exist",
        SOURCE_TOPICS.purchaseOrderReceived,
        "UNRESOLVED",
        g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
        { key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e) },
      );
    }
  });
  times(4, () => {
    const e = g.purchase(world.M);
    e.purchaseOrderId = g.id("missing-po");
    g.dead(
      "unresolved.purchase-order",
      "purchase order that does not exist",
      SOURCE_TOPICS.purchaseOrderReceived,
      "UNRESOLVED",
      g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
      { key: g.keyOf(SOURCE_TOPICS.purchaseOrderReceived, e) },
    );
  });

  // ---------------------------------------------------------------- bad inputs with odd keys and headers
  const someBad = (): {
    what: string;
    topic: SourceTopic;
    reason: DeadLetterReason;
    value: Buffer | null;
  } => {
    const topic = g.topic();
    switch (rng.int(0, 3)) {
      case 0:
        return { what: "random bytes", topic, reason: "UNDECODABLE", value: g.randomBytes() };
      case 1:
        return {
          what: "unknown schema id",
          topic,
          reason: "UNDECODABLE",
          value: frame(999_999, rng.bytes(20)),
        };
      case 2: {
        const e = g.event(topic);
        const f = g.pick(g.idFields(topic));
        f.set(e, `bad\u0007${g.id("c")}`);
        return { what: `${f.name} with U+0007`, topic, reason: "INVALID_PAYLOAD", value: g.encode(topic, e) };
      }
      default: {
        const e = g.purchase(world.M);
        e.purchaseOrderId = world.otherPo;
        return {
          what: "OTHER's purchase order",
          topic: SOURCE_TOPICS.purchaseOrderReceived,
          reason: "CROSS_TENANT",
          value: g.encode(SOURCE_TOPICS.purchaseOrderReceived, e),
        };
      }
    }
  };
  times(30, () => {
    const b = someBad();
    g.dead(
      "bad.odd-key-and-headers",
      `${b.topic} ${b.what}, odd key, non-UTF-8 headers`,
      b.topic,
      b.reason,
      b.value,
      {
        key: g.oddKey(),
        headers: g.oddHeaders(),
      },
    );
  });
  times(5, () => {
    const b = someBad();
    g.dead("bad.many-headers", `${b.topic} ${b.what}, 1,050 headers`, b.topic, b.reason, b.value, {
      headers: g.manyHeaders(),
    });
  });
  {
    // Three in a row on one partition, one key: together they exceed a produce request's limit.
    const key = Buffer.from(g.id("big"));
    times(3, () => {
      const b = { topic: SOURCE_TOPICS.inventoryAdjusted, value: g.randomBytes() };
      g.dead(
        "bad.350KB-headers",
        "random bytes with 350 KB of headers (three adjacent)",
        b.topic,
        "UNDECODABLE",
        b.value,
        {
          key,
          headers: g.bigHeaders(350_000),
          group: "big-headers",
        },
      );
    });
  }
  {
    // Fits the broker as it is; its dead letter, with the error headers added, cannot.
    const topic = SOURCE_TOPICS.inventoryAdjusted;
    const e = g.adjust(world.M);
    const headers = { ...g.oddHeaders(), ...g.bigHeaders(20_000) };
    const key = g.keyOf(topic, e);
    const target = o.maxMessageBytes - 120;
    let n = 1_000_000;
    for (let i = 0; i < 5; i++) {
      e.reason = "r".repeat(n);
      n += target - recordBatchBytes(key, g.encode(topic, e), headers);
    }
    e.reason = "r".repeat(n);
    const value = g.encode(topic, e);
    const size = recordBatchBytes(key, value, headers);
    if (size > o.maxMessageBytes || size < o.maxMessageBytes - 200)
      throw new Error(`fuzz harness: oversize record is ${size} bytes`);
    g.dead(
      "bad.oversize-dead-letter",
      `reason of ${n.toLocaleString("en-US")} chars, record batch ${size.toLocaleString("en-US")} bytes`,
      topic,
      "INVALID_PAYLOAD",
      value,
      { key, headers, oversize: true },
    );
  }

  // ---------------------------------------------------------------- UNDECODABLE: counts that cannot be true
  // Issue 20: a writer with one more field, array<null> (default []), written last, so its
  // count is the record's last bytes. Each hostile record must be dead-lettered within a bound
  // (hostileCountBoundMs), the good ones beside them booked.
  for (const topic of topics) {
    times(2, () => {
      const e = g.event(topic);
      g.valid("good.writer-array-of-nulls", `${topic} writer with fuzzNulls: [null ×3]`, topic, e, {
        value: g.encode(topic, { ...cloneEvent(e), fuzzNulls: [null, null, null] }, `${topic}.with-nulls`),
      });
    });
  }
  const claims = [1e10, 1e12, 1e15, 4e15];
  const forms: [string, (claim: number) => Buffer][] = [
    ["trailing count", (n) => avroLong(n)],
    ["count, then the end of the array", (n) => Buffer.concat([avroLong(n), avroLong(0)])],
    ["negative count, size 0", (n) => Buffer.concat([avroLong(-n), avroLong(0), avroLong(0)])],
    ["negative count, size 2^40", (n) => Buffer.concat([avroLong(-n), avroLong(2 ** 40), avroLong(0)])],
  ];
  times(16, (i) => {
    const topic = topics[i % topics.length] as SourceTopic;
    const claim = claims[i % claims.length] as number;
    const [form, tail] = forms[Math.floor(i / claims.length) % forms.length] as (typeof forms)[number];
    const e = g.event(topic);
    const v = g.encode(topic, { ...cloneEvent(e), fuzzNulls: [] }, `${topic}.with-nulls`);
    if (v.at(-1) !== 0) throw new Error("fuzz harness: fuzzNulls is not the last field");
    g.dead(
      "avro.hostile-count",
      `${topic} fuzzNulls claiming ${claim.toExponential()} items (${form})`,
      topic,
      "UNDECODABLE",
      Buffer.concat([v.subarray(0, -1), tail(claim)]),
      { key: g.keyOf(topic, e) },
    );
  });
  times(2, (i) => {
    const topic = topics[i % topics.length] as SourceTopic;
    const e = g.event(topic);
    const v = g.encode(topic, { ...cloneEvent(e), fuzzNulls: [] }, `${topic}.with-nulls`);
    g.dead(
      "avro.hostile-count",
      `${topic} fuzzNulls of 70,000 nulls (past the cap of zero-size items)`,
      topic,
      "UNDECODABLE",
      Buffer.concat([v.subarray(0, -1), avroLong(70_000), avroLong(0)]),
      { key: g.keyOf(topic, e) },
    );
  });
  // Opt-in (FUZZ_BIG_BAD): large junk (issue 20 item 11). While the partitioner hashes Buffer
  // keys with kafkajs' murmur2, each 200 KB key costs ~9 s in the harness's producer and as much
  // in the topology's dead-letter produce: with them the replay stalls past its bound.
  if (process.env.FUZZ_BIG_BAD) {
    times(30, (i) => {
      const topic = g.topic();
      const mode = process.env.FUZZ_BIG_BAD;
      const big = mode === "keys" ? true : mode === "headers" ? false : i % 3 === 2;
      g.dead(
        "bad.big-junk",
        big ? "random bytes with a 200 KB key" : "random bytes with 350 KB of headers",
        topic,
        "UNDECODABLE",
        g.randomBytes(),
        big ? { key: Buffer.from("k".repeat(200_000)) } : { headers: g.bigHeaders(350_000) },
      );
    });
  }
  return g.inputs;
}

/** Time a hostile-count record may take to be found UNDECODABLE (decoding alone). */
export const hostileCountBoundMs = 50;

/** Only the classes named (by prefix) in a comma-separated filter, for debugging the harness. */
export function filterClasses(inputs: FuzzInput[], filter: string | undefined): FuzzInput[] {
  if (!filter) return inputs;
  const prefixes = filter
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return inputs.filter((i) => prefixes.some((p) => i.cls.startsWith(p)));
}
