/**
 * An example downstream consumer of `finance.voucher` (README: "Consuming finance.voucher").
 * It depends on nothing of finance-posting: only kafkajs, @kafkajs/confluent-schema-registry
 * and avsc, as a consumer in another service would.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
 *     npx tsx examples/voucher-consumer.ts [group-id]
 *
 * What it shows:
 * - values are Avro in the Confluent wire format, decoded with the writer's schema, which the
 *   registry serves by the id in each record (subject `finance.voucher-value`);
 * - money (`amount`, each line's `amount`) is an Avro `decimal` (bytes, scale 4), read here as an
 *   exact decimal string, never as a floating-point number;
 * - delivery is at least once, so the same voucher can arrive more than once (a redelivery, a
 *   re-published source event, a replay of the pipeline): `voucherId` is the dedupe key. A real
 *   consumer keeps the ids it has applied in its own database, in the same transaction as the
 *   effect; the in-memory set below stands in for that;
 * - offsets are committed (by kafkajs, after `eachMessage` returns) only once the voucher has been
 *   handled, so a crash in between redelivers it, and the dedupe makes that harmless.
 */
import { pathToFileURL } from "node:url";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import avro from "avsc";
import { Kafka, logLevel } from "kafkajs";

export const VOUCHER_TOPIC = "finance.voucher";

/** A decimal as exact text with the schema's scale: "150000.0000", "-25000.5000". */
export type DecimalString = string;

export interface VoucherLine {
  lineNo: number;
  accountId: string;
  accountCode: string | null;
  side: "DEBIT" | "CREDIT";
  amount: DecimalString;
}

/** The fields of `nx.finance.Voucher` (schemas/finance.voucher-value.avsc) this example reads. */
export interface Voucher {
  voucherId: string;
  idempotencyKey: string;
  merchantId: string;
  type: "RECEIPT" | "PAYMENT" | "ADJUSTMENT";
  kind: string;
  category: string;
  currency: string;
  amount: DecimalString;
  party: { type: "CUSTOMER" | "VENDOR" | "NONE"; id: string | null; name: { en: string; vi: string } | null };
  reason: { en: string; vi: string };
  source: { type: string; id: string; code: string | null };
  origin: { eventId: string; topic: string; partition: number; offset: number };
  /** Epoch milliseconds. */
  occurredAt: number;
  lines: VoucherLine[];
}

/** Where the record was: the key is the merchant id, so one merchant's vouchers share a partition. */
export interface RecordMeta {
  key: string | null;
  partition: number;
  offset: string;
}

/** Remembers which vouchers have been applied. Make it durable, and update it with the effect. */
export interface AppliedVouchers {
  has(voucherId: string): Promise<boolean>;
  add(voucherId: string): Promise<void>;
}

export function inMemoryApplied(): AppliedVouchers {
  const ids = new Set<string>();
  return {
    has: async (id) => ids.has(id),
    add: async (id) => {
      ids.add(id);
    },
  };
}

export interface VoucherConsumerOptions {
  brokers: string[];
  registryUrl: string;
  groupId: string;
  /** For a group without committed offsets: from the earliest record (default) or the latest. */
  fromBeginning?: boolean;
  /** The effect, called once per voucherId however often the voucher arrives. */
  apply(voucher: Voucher, meta: RecordMeta): Promise<void>;
  applied?: AppliedVouchers;
}

export interface VoucherConsumerStats {
  /** Records received. */
  received: number;
  /** Vouchers applied (first arrival of a voucherId). */
  applied: number;
  /** Records whose voucherId had already been applied. */
  duplicates: number;
  /** Records that are not in the Confluent wire format (skipped and logged). */
  undecodable: number;
}

export interface VoucherConsumer {
  stats: VoucherConsumerStats;
  stop(): Promise<void>;
}

/**
 * Avro `decimal` on bytes as exact text: the bytes are the unscaled value as a big-endian
 * two's-complement integer. Read-only: this consumer never encodes vouchers.
 */
class DecimalText extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    this.scale = (schema as { scale?: number }).scale ?? 0;
  }

  override _fromValue(value: unknown): DecimalString {
    const bytes = value as Buffer;
    let unscaled = 0n;
    for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
    if (bytes.length > 0 && (bytes[0] ?? 0) & 0x80) unscaled -= 1n << BigInt(bytes.length * 8);
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(this.scale + 1, "0");
    const text = this.scale === 0 ? digits : `${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
    return negative ? `-${text}` : text;
  }

  override _toValue(): Buffer {
    throw new Error("this example only reads vouchers");
  }

  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    return avro.Type.isType(type, "logical:decimal", "bytes") ? (v) => v : undefined;
  }
}

export async function startVoucherConsumer(opts: VoucherConsumerOptions): Promise<VoucherConsumer> {
  const registry = new SchemaRegistry(
    { host: opts.registryUrl },
    { [SchemaType.AVRO]: { logicalTypes: { decimal: DecimalText } } },
  );
  const applied = opts.applied ?? inMemoryApplied();
  const stats: VoucherConsumerStats = { received: 0, applied: 0, duplicates: 0, undecodable: 0 };
  const consumer = new Kafka({
    clientId: opts.groupId,
    brokers: opts.brokers,
    logLevel: logLevel.ERROR,
  }).consumer({
    groupId: opts.groupId,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: VOUCHER_TOPIC, fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    // One record at a time, in partition order: a merchant's vouchers are applied in the order
    // they were published. A thrown error (registry or your database down) retries the record.
    eachMessage: async ({ partition, message }) => {
      stats.received++;
      const meta: RecordMeta = { key: message.key?.toString() ?? null, partition, offset: message.offset };
      if (!message.value || message.value.length < 5 || message.value[0] !== 0) {
        stats.undecodable++;
        console.error(
          `skipping a record that is not a framed Avro voucher at ${partition}/${message.offset}`,
        );
        return;
      }
      const voucher = (await registry.decode(message.value)) as Voucher;
      if (await applied.has(voucher.voucherId)) {
        stats.duplicates++;
        return;
      }
      await opts.apply(voucher, meta);
      await applied.add(voucher.voucherId);
      stats.applied++;
    },
  });
  return { stats, stop: () => consumer.disconnect() };
}

// Run directly: print each voucher once, until Ctrl-C.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const consumer = await startVoucherConsumer({
    brokers: (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? "http://127.0.0.1:8081/apis/ccompat/v7",
    groupId: process.argv[2] ?? "voucher-consumer-example",
    apply: async (v) => {
      console.log(
        `${v.voucherId} ${v.kind} ${v.merchantId} ${v.amount} ${v.currency} (${v.lines.length} lines)`,
      );
    },
  });
  const stop = async () => {
    await consumer.stop();
    console.error(JSON.stringify(consumer.stats));
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
