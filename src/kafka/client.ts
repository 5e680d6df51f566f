import { readFileSync } from "node:fs";
import kafkajs, {
  type Admin,
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type SASLOptions,
} from "kafkajs";
import type { Config } from "../config.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import { RememberingPartitioner } from "./partitioner.js";

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * kafkajs logs every error response at error level: a rebalance, a broker restarting, a
 * coordinator moving, an instance racing another to create a topic. Those it retries, and the
 * project watches what it cannot ride out (a consumer that crashed for good fails /healthz and
 * is logged at error by the project), so they are warnings: ERROR stays for what an operator
 * must act on — credentials or certificates the cluster refuses, and access it denies.
 */
const OPERATOR_MUST_ACT = /authenticat|authoriz|SASL|SSL|TLS|certificate|access denied|not allowed/i;

/**
 * The group's routine answers while members come and go: each member hears them on every
 * heartbeat of every rebalance (hundreds of lines a minute in a rolling deploy). The member
 * handles them (`GroupMember`); `finance_rebalance_seconds` shows what they cost.
 */
const ROUTINE_GROUP_ANSWER =
  /group is rebalancing|coordinator is not aware of this member|coordinator is loading|not the correct coordinator|generation id is not valid|specified group generation id/i;

export function kafkaLogLevel(level: number, entry: { message: string; error?: unknown }) {
  const racedCreation =
    entry.message.startsWith("Response CreateTopics") && entry.error === "Topic creation errors";
  if (racedCreation) return "debug";
  if (ROUTINE_GROUP_ANSWER.test(`${entry.message} ${String(entry.error ?? "")}`)) {
    return entry.message.startsWith("Response ") ? "debug" : "info";
  }
  const mapped = LEVELS[level] ?? "info";
  if (mapped !== "error") return mapped;
  return OPERATOR_MUST_ACT.test(`${entry.message} ${String(entry.error ?? "")}`) ? "error" : "warn";
}

export function createKafka(c: Config, log: Logger): Kafka {
  const cfg: KafkaConfig = {
    clientId: c.KAFKA_CLIENT_ID,
    brokers: c.KAFKA_BROKERS,
    retry: { retries: c.KAFKA_RETRIES, initialRetryTime: 200, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    // kafkajs' own lines go through our JSON logger, tagged so they can be filtered.
    logCreator:
      () =>
      ({ level, label, log: entry }) => {
        const { message, ...rest } = entry;
        log[kafkaLogLevel(level, entry)]({ kafkajs: label, ...rest }, message);
      },
  };
  if (c.KAFKA_SSL) cfg.ssl = c.KAFKA_SSL_CA_FILE ? { ca: [readCaFile(c.KAFKA_SSL_CA_FILE)] } : true;
  if (c.KAFKA_SASL_MECHANISM) {
    // loadConfig refuses a mechanism without both, so an empty credential never reaches a broker.
    if (!c.KAFKA_SASL_USERNAME || !c.KAFKA_SASL_PASSWORD) {
      throw new ConfigError(
        "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM",
      );
    }
    cfg.sasl = {
      mechanism: c.KAFKA_SASL_MECHANISM,
      username: c.KAFKA_SASL_USERNAME,
      password: c.KAFKA_SASL_PASSWORD,
    } as SASLOptions;
  }
  return new Kafka(cfg);
}

/** The CA file's PEM; a file gone since loadConfig checked it is a config error (exit 2), not a stack. */
function readCaFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError(`invalid configuration:\n  KAFKA_SSL_CA_FILE: cannot be read (${code}): ${path}`);
  }
}

/** Creates the project's output topics when missing; an existing topic is left as it is. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  numPartitions = 6,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor: -1 })),
  });
}

/** Kafka's default max.message.bytes, when a topic's own cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Room for the record batch's own header around a lone record. */
const BATCH_OVERHEAD_BYTES = 1_024;

/** The largest single record every one of the topics accepts (their max.message.bytes, less overhead). */
export async function maxRecordBytes(admin: Admin, topics: readonly string[]): Promise<number> {
  const described = await admin
    .describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        // (a named import of it fails: kafkajs is CommonJS and exports it in a way ESM cannot see)
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: ["max.message.bytes"],
      })),
    })
    .catch(() => null);
  const limits = (described?.resources ?? []).flatMap((r) =>
    r.configEntries.map((c) => Number(c.configValue)).filter((n) => Number.isFinite(n) && n > 0),
  );
  return (limits.length > 0 ? Math.min(...limits) : DEFAULT_MAX_MESSAGE_BYTES) - BATCH_OVERHEAD_BYTES;
}

/**
 * How a consumer of the pipeline behaves in its group and fetches: how quickly the group
 * notices a member is gone (KAFKA_SESSION_TIMEOUT_MS, the same for every group) and how much one
 * fetch brings (KAFKA_FETCH_MAX_BYTES for the topology, SINK_FETCH_MAX_BYTES for the sink), which
 * bounds the records in flight and the memory they take.
 */
export interface ConsumerSettings {
  sessionTimeout: number;
  rebalanceTimeout: number;
  heartbeatInterval: number;
  maxBytes: number;
  maxBytesPerPartition: number;
}

const groupTiming = (c: Config) => ({
  sessionTimeout: c.KAFKA_SESSION_TIMEOUT_MS,
  rebalanceTimeout: c.KAFKA_REBALANCE_TIMEOUT_MS,
  heartbeatInterval: c.KAFKA_HEARTBEAT_INTERVAL_MS,
});

export const topologyConsumerSettings = (c: Config): ConsumerSettings => ({
  ...groupTiming(c),
  maxBytes: c.KAFKA_FETCH_MAX_BYTES,
  maxBytesPerPartition: c.KAFKA_PARTITION_FETCH_MAX_BYTES,
});

/** The sink's consumer: larger fetches than the topology's (see `SINK_FETCH_MAX_BYTES`). */
export const sinkConsumerSettings = (c: Config): ConsumerSettings => ({
  ...groupTiming(c),
  maxBytes: c.SINK_FETCH_MAX_BYTES,
  maxBytesPerPartition: c.SINK_PARTITION_FETCH_MAX_BYTES,
});

const DEFAULT_SETTINGS: ConsumerSettings = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 10_000,
  heartbeatInterval: 1_000,
  maxBytes: 8 * 1024 * 1024,
  maxBytesPerPartition: 512 * 1024,
};

/**
 * Every consumer of the project: a short long-poll so that an idle consumer stops promptly on
 * shutdown, the group timing that bounds failover, and fetches bounded so one is processed
 * well within the session timeout, and memory with it. kafkajs never restarts it after a crash:
 * the group member that owns it does (`GroupMember`), with a new consumer — kafkajs' own restart
 * was only for some errors, and a restart behind a disconnect kept a stopped member in its group.
 */
export function createConsumer(
  kafka: Kafka,
  groupId: string,
  settings: ConsumerSettings = DEFAULT_SETTINGS,
): Consumer {
  return kafka.consumer({
    groupId,
    ...settings,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    retry: { retries: 5, restartOnFailure: async () => false },
  });
}

/**
 * The producer of vouchers and dead letters: idempotent, so broker-side retries never
 * duplicate a record, and retrying without limit, because a broker outage is transient
 * infrastructure — the source offsets stay uncommitted meanwhile. Java-compatible partitioning.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    createPartitioner: RememberingPartitioner,
    // At most 5 s between tries: after a broker restart, a send must not sleep on for half a
    // minute while the partition it holds waits (and its group with it).
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}
