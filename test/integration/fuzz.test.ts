import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import avro from "avsc";
import { AvroCodec } from "../../src/avro/codec.js";
import { DecimalType } from "../../src/avro/decimal-type.js";
import { type ReplaySummary, replayCommand } from "../../src/commands/replay.js";
import { type Config, groups } from "../../src/config.js";
import { applyCdc } from "../../src/enrich/cdc.js";
import { MaterializedTables } from "../../src/enrich/tables.js";
import { UndecodableError } from "../../src/errors.js";
import { commitGroupOffsets } from "../../src/kafka/group-offsets.js";
import { loadSchema, readerOf } from "../../src/schemas.js";
import { SINK_TOPICS } from "../../src/sinks/sink-service.js";
import {
  ALL_SOURCE_TOPICS,
  type CdcTopic,
  DLQ_TOPIC,
  type SourceTopic,
  VOUCHER_TOPIC,
  valueSubject,
} from "../../src/topics.js";
import { decode, encode, post, resolve, validate } from "../../src/topology/stages.js";
import {
  type Expect,
  type FuzzInput,
  filterClasses,
  generateCorpus,
  hostileCountBoundMs,
  outcomeOf,
} from "../support/fuzz/corpus.js";
import { expectedBooking } from "../support/fuzz/expected.js";
import { Rng } from "../support/fuzz/prng.js";
import { maxMessageBytes, publishCdcRows, publishInputs, registerVariants } from "../support/fuzz/publish.js";
import { type VariantSchema, variantSchemas, variantSubject } from "../support/fuzz/variants.js";
import { headerBytes } from "../support/fuzz/wire.js";
import { FuzzWorld } from "../support/fuzz/world.js";
import { log } from "../support/log.js";
import {
  CDC_COMMIT_TIME,
  connectKafka,
  type ReadRecord,
  readFrom,
  type TestKafka,
  testConfig,
} from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * Issue 7, "No record can stall the books": a seeded corpus of malformed inputs across the four
 * source topics, interleaved with good events, replayed in-process; every input must end as
 * its class requires (SPEC §5, §6; CONTRACTS field limits) and the replay must finish.
 *
 *   FUZZ_SEED=<n>                  another corpus (default 20260115)
 *   FUZZ_CLASSES=wire.,good.plain  only classes with these prefixes (debugging the harness)
 *   FUZZ_REPLAY_TIMEOUT_MS=<ms>    how long the replay may take before it counts as stalled
 *   FUZZ_LOG_LEVEL=warn            the pipeline's own log level (default fatal)
 *   FUZZ_BIG_BAD=1|keys|headers    adds 30 large junk records, class bad.big-junk (issue 20 item 11):
 *                                  a 200 KB key (every third, or all with `keys`) or 350 KB of headers
 *
 * Topics are shared: another deployment running at the same time on the same broker may read
 * this run's records too (its vouchers and dead letters then reach this run's sink). The header
 * line of the printed table says when records were dead-lettered twice or others published
 * into the replay's window.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20260115);
const REPLAY_BOUND_MS = Number(process.env.FUZZ_REPLAY_TIMEOUT_MS ?? 120_000);
const MIN_MALFORMED = 1_000;

interface VoucherRow {
  voucher_id: string;
  idempotency_key: string;
  merchant_id: string;
  kind: string;
  currency: string;
  amount: string;
  origin_topic: string;
  origin_partition: number;
  origin_offset: string;
  lines: { accountId: string; side: string; amount: string }[];
}

interface DeadLetterRow {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

type Aspect = "books" | "dlq" | "table";

const pos = (topic: string, partition: number | string | undefined, offset: string | undefined) =>
  `${topic}:${partition}:${offset}`;
const posOf = (i: FuzzInput) => pos(i.topic, i.partition, i.offset);
const text = (h: ReadRecord["headers"], name: string) => {
  const v = h[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
};
const sameBytes = (a: Buffer | null | undefined, b: Buffer | null) =>
  a === null || a === undefined ? b === null : b !== null && a.equals(b);
const lineKey = (l: { accountId: string; side: string; amount: string }) =>
  `${l.side} ${l.amount} ${l.accountId}`;
const sameLines = (a: { accountId: string; side: string; amount: string }[], b: typeof a) =>
  JSON.stringify(a.map(lineKey).sort()) === JSON.stringify(b.map(lineKey).sort());
const count = (xs: Iterable<string>) => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

/** Problems, grouped by class: `class (n, expected …): k wrong — problem ×m, …; e.g. …`. */
function report(inputs: FuzzInput[], problems: Map<FuzzInput, string[]>): string {
  const byClass = new Map<string, { n: number; wrong: FuzzInput[]; what: Record<string, number> }>();
  for (const i of inputs) {
    const c = byClass.get(i.cls) ?? { n: 0, wrong: [], what: {} };
    c.n++;
    const ps = problems.get(i) ?? [];
    if (ps.length > 0) {
      c.wrong.push(i);
      for (const p of new Set(ps)) c.what[p] = (c.what[p] ?? 0) + 1;
    }
    byClass.set(i.cls, c);
  }
  const lines: string[] = [];
  for (const [cls, c] of byClass) {
    if (c.wrong.length === 0) continue;
    const expected = Object.keys(count(c.wrong.map((i) => outcomeOf(i.expect)))).join("/");
    const what = Object.entries(c.what)
      .sort((a, b) => b[1] - a[1])
      .map(([p, n]) => `${p} ×${n}`)
      .join(", ");
    const eg = c.wrong
      .slice(0, 2)
      .map((i) => i.what)
      .join("; ");
    lines.push(
      `  ${cls} (expect ${expected}): ${c.wrong.length} of ${c.n} wrong — ${what}\n      e.g. ${eg}`,
    );
  }
  return lines.join("\n");
}

/** A record's header bytes as they travel: names and values. */
const wireHeaderBytes = (i: FuzzInput): number =>
  [...headerBytes(i.headers)].reduce(
    (n, [name, values]) => n + values.reduce((m, v) => m + Buffer.byteLength(name) + v.length, 0),
    0,
  );

describe("fuzz: no record can stall the books (issue 7)", { timeout: REPLAY_BOUND_MS + 180_000 }, () => {
  const run = randomUUID().slice(0, 8);
  const rng = new Rng(SEED);
  let db: ThrowawayDb;
  let config: Config;
  let k: TestKafka;
  let world: FuzzWorld;
  let variants: VariantSchema[];
  let schemaIds: Map<string, number>;
  let all: FuzzInput[];
  let inputs: FuzzInput[];
  let summary: ReplaySummary | undefined;
  let replayError: unknown;
  let stalled = false;
  let replaySeconds = 0;
  /** Records others published to the source topics inside this run's window (a shared broker). */
  let foreign = 0;
  /** Inputs dead-lettered more than once: another deployment on the shared broker read them too. */
  let twice = 0;
  /** Where the stalled replay's groups stand (empty unless it stalled). */
  const stuck: string[] = [];
  const vouchers: VoucherRow[] = [];
  const deadLetters: DeadLetterRow[] = [];
  const dlq: ReadRecord[] = [];
  const problems = new Map<FuzzInput, string[]>();
  const aspects = new Map<Aspect, Map<FuzzInput, string[]>>([
    ["books", new Map()],
    ["dlq", new Map()],
    ["table", new Map()],
  ]);
  const flag = (aspect: Aspect, i: FuzzInput, problem: string) => {
    const m = aspects.get(aspect) as Map<FuzzInput, string[]>;
    m.set(i, [...(m.get(i) ?? []), problem]);
    problems.set(i, [...(problems.get(i) ?? []), problem]);
  };

  before(async () => {
    db = await createThrowawayDb();
    config = testConfig({ DATABASE_URL: db.url });
    k = await connectKafka(config);

    // The deployment's groups start where the topics end now: the replay sees this run only.
    const start = new Map<string, { partition: number; offset: string }[]>();
    for (const topic of [...ALL_SOURCE_TOPICS, ...SINK_TOPICS]) {
      start.set(
        topic,
        (await k.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
      );
    }
    const offsetsOf = (topics: readonly string[]) =>
      topics.flatMap((topic) => (start.get(topic) ?? []).map((p) => ({ topic, ...p })));
    // One after the other: should one fail, no member of the other is left retrying behind the test.
    await commitGroupOffsets(k.kafka, k.admin, groups(config).topology, offsetsOf(ALL_SOURCE_TOPICS));
    await commitGroupOffsets(k.kafka, k.admin, groups(config).sink, offsetsOf(SINK_TOPICS));
    world = new FuzzWorld(run);
    variants = variantSchemas(rng.fork("schemas"));
    schemaIds = await registerVariants(config.SCHEMA_REGISTRY_URL, variants);
    const schemaId = (subject: string) => {
      const id = schemaIds.get(subject) ?? k.schemaIds.get(subject);
      if (id === undefined) throw new Error(`fuzz harness: no schema id for ${subject}`);
      return id;
    };
    all = generateCorpus({
      rng: rng.fork("corpus"),
      world,
      schemaId,
      variants,
      maxMessageBytes: await maxMessageBytes(k.admin),
    });
    inputs = filterClasses(all, process.env.FUZZ_CLASSES);
    await publishCdcRows(k, world.cdc);
    await publishInputs(k.kafka, k.admin, inputs, rng.fork("publish"));

    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      CONSUMER_GROUP: config.CONSUMER_GROUP,
      METRICS_PORT: "0",
      RESOLVE_TIMEOUT_MS: "500",
      SINK_LINGER_MS: "50",
      LOG_LEVEL: process.env.FUZZ_LOG_LEVEL ?? "fatal",
    };
    let window = 0;
    for (const topic of ALL_SOURCE_TOPICS) {
      const from = new Map((start.get(topic) ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      for (const p of await k.admin.fetchTopicOffsets(topic))
        window += Number(BigInt(p.high) - (from.get(p.partition) ?? 0n));
    }
    foreign = window - inputs.length;
    const began = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"stalled">((resolve) => {
      timer = setTimeout(() => resolve("stalled"), REPLAY_BOUND_MS);
    });
    const outcome = await Promise.race([
      replayCommand({ migrate: true, progress: false }, env).then(
        (s) => s,
        (e: unknown) => {
          replayError = e;
          return "failed" as const;
        },
      ),
      bound,
    ]);
    clearTimeout(timer);
    replaySeconds = (Date.now() - began) / 1000;
    if (outcome === "stalled") {
      stalled = true;
      await whereStuck();
    } else if (outcome !== "failed") summary = outcome;

    // What the run left behind (all of it, even after a stall: it shows how far it got).
    const pool = db.pool(2);
    vouchers.push(
      ...(
        await pool.query<VoucherRow>(`
        SELECT v.voucher_id::text, v.idempotency_key, v.merchant_id, v.kind, v.currency, v.amount::text,
               v.origin_topic, v.origin_partition, v.origin_offset::text,
               coalesce(json_agg(json_build_object('accountId', l.account_id, 'side', l.side, 'amount', l.amount::text))
                        FILTER (WHERE l.voucher_id IS NOT NULL), '[]') AS lines
          FROM finance.voucher v LEFT JOIN finance.ledger_line l USING (voucher_id)
         GROUP BY v.voucher_id`)
      ).rows,
    );
    deadLetters.push(
      ...(
        await pool.query<DeadLetterRow>(
          `SELECT topic, partition, "offset"::text AS offset, key, value, reason FROM finance.dead_letter`,
        )
      ).rows,
    );
    const from = new Map((start.get(DLQ_TOPIC) ?? []).map((p) => [p.partition, p.offset]));
    const pending = new Map(
      (await k.admin.fetchTopicOffsets(DLQ_TOPIC))
        .filter((p) => BigInt(p.high) > BigInt(from.get(p.partition) ?? "0"))
        .map((p) => [p.partition, BigInt(p.high) - 1n]),
    );
    if (pending.size > 0) {
      let seen = 0;
      dlq.push(
        ...(await readFrom(k.kafka, DLQ_TOPIC, from, (records) => {
          for (; seen < records.length; seen++) {
            const r = records[seen] as ReadRecord;
            if (BigInt(r.offset) >= (pending.get(r.partition) ?? -1n)) pending.delete(r.partition);
          }
          return pending.size === 0;
        })),
      );
    }
    judge();
    printTable();
  });

  after(async () => {
    await k?.close();
    await db?.drop();
    if (stalled) {
      // The stalled replay still holds its consumers: end the test process once results are out.
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 2_000);
    }
  });

  /** After a stall: the first record each group has not got past, per partition that is behind. */
  async function whereStuck() {
    const mine = new Map(inputs.map((i) => [posOf(i), i]));
    const behind = async (groupId: string, topics: string[]) => {
      for (const t of await k.admin.fetchOffsets({ groupId, topics })) {
        const ends = new Map((await k.admin.fetchTopicOffsets(t.topic)).map((p) => [p.partition, p.high]));
        for (const p of t.partitions) {
          const end = ends.get(p.partition) ?? "0";
          if (p.offset === "-1" || BigInt(p.offset) >= BigInt(end)) continue;
          const next = mine.get(pos(t.topic, p.partition, p.offset));
          stuck.push(
            `${groupId.endsWith(".sink") ? "sink" : "topology"} at ${t.topic}:${p.partition} offset ${p.offset} of ${end}` +
              (next ? ` (next: ${next.cls} — ${next.what})` : ""),
          );
        }
      }
    };
    await behind(groups(config).topology, [...ALL_SOURCE_TOPICS]);
    await behind(groups(config).sink, [VOUCHER_TOPIC, DLQ_TOPIC]);
  }

  /** Pins every difference between what each input should have become and what it became. */
  function judge() {
    const byKey = new Map(vouchers.map((v) => [v.idempotency_key, v]));
    const byOrigin = new Map<string, VoucherRow[]>();
    for (const v of vouchers) {
      const p = pos(v.origin_topic, v.origin_partition, v.origin_offset);
      byOrigin.set(p, [...(byOrigin.get(p) ?? []), v]);
    }
    const dlqByOrigin = new Map<string, ReadRecord[]>();
    for (const r of dlq) {
      const p = pos(
        text(r.headers, "__connect.errors.topic") ?? "",
        text(r.headers, "__connect.errors.partition"),
        text(r.headers, "__connect.errors.offset"),
      );
      dlqByOrigin.set(p, [...(dlqByOrigin.get(p) ?? []), r]);
    }
    const tableByOrigin = new Map(deadLetters.map((d) => [pos(d.topic, d.partition, d.offset), d]));

    twice = inputs.filter((i) => (dlqByOrigin.get(posOf(i))?.length ?? 0) > 1).length;
    for (const i of inputs) {
      const at = posOf(i);
      const booked = byOrigin.get(at) ?? [];
      const onDlq = dlqByOrigin.get(at) ?? [];
      const row = tableByOrigin.get(at);
      const e = i.expect;
      if (e.kind === "book") {
        const keys = new Set(e.booking.vouchers.map((v) => v.key));
        for (const want of e.booking.vouchers) {
          const got = byKey.get(want.key);
          if (!got) {
            flag(
              "books",
              i,
              onDlq.length
                ? `dead-lettered ${text(onDlq[0]?.headers ?? {}, "finance.dlq.reason")}`
                : "voucher missing",
            );
            continue;
          }
          if (got.voucher_id !== want.voucherId) flag("books", i, "wrong voucher id");
          if (got.merchant_id !== want.merchantId || got.kind !== want.kind)
            flag("books", i, "wrong merchant or kind");
          if (got.currency !== want.currency) flag("books", i, `currency ${got.currency}`);
          if (got.amount !== want.amount) flag("books", i, "wrong amount");
          if (!sameLines(got.lines, want.lines)) flag("books", i, "wrong ledger lines");
          if (pos(got.origin_topic, got.origin_partition, got.origin_offset) !== at)
            flag("books", i, "booked from another record");
        }
        if (booked.some((v) => !keys.has(v.idempotency_key))) flag("books", i, "unexpected voucher");
        if (onDlq.length)
          flag("dlq", i, `dead-lettered ${text(onDlq[0]?.headers ?? {}, "finance.dlq.reason")}`);
        if (row) flag("table", i, `in dead_letter as ${row.reason}`);
        continue;
      }
      if (booked.length) flag("books", i, "booked");
      if (!e.oversize) checkDlq(i, e, onDlq);
      if (!row) flag("table", i, onDlq.length ? "on the DLQ, not in dead_letter" : "not dead-lettered");
      else {
        if (row.reason !== e.reason) flag("table", i, `reason ${row.reason}`);
        if (!sameBytes(i.key, row.key)) flag("table", i, "key bytes differ");
        if (!sameBytes(i.value, row.value)) flag("table", i, "value bytes differ");
      }
    }
  }

  function checkDlq(i: FuzzInput, e: Extract<Expect, { kind: "dead" }>, onDlq: ReadRecord[]) {
    const r = onDlq[0];
    if (!r) {
      flag("dlq", i, "not on the DLQ");
      return;
    }
    const reason = text(r.headers, "finance.dlq.reason");
    if (reason !== e.reason) flag("dlq", i, `reason ${reason}`);
    if (!sameBytes(i.key, r.key)) flag("dlq", i, "key bytes differ");
    if (!sameBytes(i.value, r.value)) flag("dlq", i, "value bytes differ");
    const got = headerBytes(r.headers);
    for (const [name, values] of headerBytes(i.headers)) {
      const have = got.get(name) ?? [];
      if (have.length !== values.length || values.some((v, j) => !v.equals(have[j] as Buffer))) {
        flag("dlq", i, "original headers differ");
        break;
      }
    }
    for (const h of ["__connect.errors.exception.class.name", "__connect.errors.exception.message"]) {
      if (!text(r.headers, h)) flag("dlq", i, `no ${h} header`);
    }
  }

  /** class → count → expected outcome → how many came out right (one line per class). */
  function printTable() {
    const rows = new Map<string, FuzzInput[]>();
    for (const i of inputs) rows.set(i.cls, [...(rows.get(i.cls) ?? []), i]);
    const bad = inputs.filter((i) => i.expect.kind === "dead").length;
    const out = [
      `fuzz seed ${SEED}, run ${run}: ${inputs.length} inputs (${bad} malformed, ${inputs.length - bad} good); replay ${
        stalled ? `STALLED (no end within ${REPLAY_BOUND_MS / 1000} s)` : replayError ? "FAILED" : "finished"
      } after ${replaySeconds.toFixed(1)} s${foreign ? `; ${foreign} records of others in the window` : ""}${
        twice ? `; ${twice} inputs dead-lettered twice (another deployment reads these topics?)` : ""
      }`,
    ];
    for (const [cls, list] of rows) {
      const expected = Object.entries(count(list.map((i) => outcomeOf(i.expect))))
        .map(([o, n]) =>
          Object.keys(count(list.map((x) => outcomeOf(x.expect)))).length > 1 ? `${o} ${n}` : o,
        )
        .join(", ");
      const ok = list.filter((i) => !problems.has(i)).length;
      out.push(
        `  ${cls.padEnd(34)} ${String(list.length).padStart(4)}  → ${expected.padEnd(28)} ${ok === list.length ? "ok" : `${ok}/${list.length} ok`}`,
      );
    }
    console.log(out.join("\n"));
  }

  it(`is a corpus of at least ${MIN_MALFORMED} malformed inputs whose good events decode to what their expectations were computed from`, () => {
    if (!process.env.FUZZ_CLASSES) {
      assert.ok(all.filter((i) => i.expect.kind === "dead").length >= MIN_MALFORMED);
      assert.deepEqual(new Set(all.map((i) => i.topic)), new Set(ALL_SOURCE_TOPICS));
    }
    const schemaOf = new Map<number, { name: string; schema: unknown }>();
    for (const [subject, id] of k.schemaIds) schemaOf.set(id, { name: subject, schema: loadSchema(subject) });
    for (const v of variants) schemaOf.set(schemaIds.get(variantSubject(v.name)) ?? -1, v);
    const type = (s: unknown) =>
      avro.Type.forSchema(s as avro.Schema, { logicalTypes: { decimal: DecimalType } });
    const readers = new Map(ALL_SOURCE_TOPICS.map((t) => [t, type(loadSchema(valueSubject(t)))]));
    const wrong: string[] = [];
    for (const i of all) {
      if (i.expect.kind !== "book" || !i.value) continue;
      const reader = readers.get(i.topic) as avro.Type;
      const w = schemaOf.get(i.value.readInt32BE(1));
      const body = i.value.subarray(5);
      // Another decimal scale: the writer's own type reads the same numbers; plain bytes: ours reads them.
      const event = w?.name.endsWith(".plain-bytes")
        ? reader.fromBuffer(body)
        : /\.scale-\d+$/.test(w?.name ?? "")
          ? type(w?.schema).fromBuffer(body)
          : reader.fromBuffer(body, reader.createResolver(type(w?.schema)));
      const booking = expectedBooking(i.topic as SourceTopic, event);
      if (JSON.stringify(booking) !== JSON.stringify(i.expect.booking)) wrong.push(`${i.cls}: ${i.what}`);
    }
    assert.deepEqual(wrong, []);
  });

  it(`replay finishes within ${REPLAY_BOUND_MS / 1000} s`, () => {
    assert.ok(
      !stalled,
      `replay did not finish within ${REPLAY_BOUND_MS / 1000} s: a record stalls the books\n  ${stuck.join("\n  ")}`,
    );
    assert.equal(replayError, undefined, `replay failed: ${(replayError as Error)?.message}`);
  });

  it("books every good event's vouchers exactly once, with the expected keys, amounts and lines, and nothing for bad ones", () => {
    const wrong = report(inputs, aspects.get("books") as Map<FuzzInput, string[]>);
    const expectedKeys = new Set(
      inputs.flatMap((i) => (i.expect.kind === "book" ? i.expect.booking.vouchers.map((v) => v.key) : [])),
    );
    const ours = new Set(inputs.map(posOf));
    const stray = vouchers.filter(
      (v) =>
        !expectedKeys.has(v.idempotency_key) &&
        (world.allMerchantIds.includes(v.merchant_id) ||
          ours.has(pos(v.origin_topic, v.origin_partition, v.origin_offset))),
    );
    assert.ok(
      wrong === "" && stray.length === 0,
      `vouchers differ from the rules:\n${wrong}${stray.length ? `\n  ${stray.length} vouchers nobody expected, e.g. ${stray[0]?.idempotency_key.slice(0, 120)}` : ""}`,
    );
  });

  it(`finds each hostile item count UNDECODABLE within ${hostileCountBoundMs} ms, decoded as the topology does`, async () => {
    const hostile = inputs.filter((i) => i.cls === "avro.hostile-count");
    if (hostile.length === 0) return; // filtered out (FUZZ_CLASSES)
    const codec = new AvroCodec({ url: config.SCHEMA_REGISTRY_URL });
    await codec.prepare(hostile.map((i) => i.value));
    const slow: string[] = [];
    let worst = 0;
    for (const i of hostile) {
      const started = performance.now();
      assert.throws(() => codec.decode(i.value, readerOf(valueSubject(i.topic))), UndecodableError, i.what);
      const ms = performance.now() - started;
      worst = Math.max(worst, ms);
      if (ms > hostileCountBoundMs) slow.push(`${i.what}: ${ms.toFixed(1)} ms`);
    }
    console.log(
      `fuzz: ${hostile.length} hostile counts, slowest found UNDECODABLE in ${worst.toFixed(2)} ms`,
    );
    assert.deepEqual(slow, []);
  });

  it("prints the topology's CPU and partition time per class, per record and per KB (issue 20 item 11)", async () => {
    // The project's own stages, in process, one record per batch (a record's cost on its
    // partition), against tables holding the run's CDC rows: no broker time, and printed only.
    const tables = new MaterializedTables();
    for (const { topic, row } of world.cdc) {
      const value = { op: "r", before: null, after: row, source: { ts_ms: CDC_COMMIT_TIME } };
      applyCdc(tables, { topic: topic as CdcTopic, key: { id: String(row.id) }, value }, log);
    }
    const codec = new AvroCodec({ url: config.SCHEMA_REGISTRY_URL });
    const voucherSchemaId = k.schemaIds.get(valueSubject(VOUCHER_TOPIC)) as number;
    const classes = new Map<string, FuzzInput[]>();
    for (const i of inputs) classes.set(i.cls, [...(classes.get(i.cls) ?? []), i]);
    const lines: string[] = [];
    let measured = 0;
    for (const [cls, list] of classes) {
      await codec.prepare(list.map((i) => i.value)); // registry lookups are not the record's cost
      const bytes = list.reduce(
        (n, i) => n + (i.key?.length ?? 0) + (i.value?.length ?? 0) + wireHeaderBytes(i),
        0,
      );
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (const i of list) {
        const record = { key: i.key, value: i.value, headers: i.headers, offset: "0" };
        const decoded = await decode(codec, {
          topic: i.topic,
          partition: 0,
          records: [record],
        });
        const resolved = await resolve(tables, { timeoutMs: 0 }, validate(decoded));
        encode(codec, voucherSchemaId, 1_000_000, post(resolved));
        measured++;
      }
      const wallUs = (performance.now() - started) * 1_000;
      const { user, system } = process.cpuUsage(cpu);
      const cpuUs = user + system;
      lines.push(
        `  ${cls.padEnd(34)} ${String(list.length).padStart(4)}  CPU ${(cpuUs / list.length).toFixed(0).padStart(7)} µs/record ${((cpuUs / Math.max(bytes, 1)) * 1_024).toFixed(1).padStart(8)} µs/KB   partition ${(wallUs / list.length).toFixed(0).padStart(7)} µs/record`,
      );
    }
    console.log(
      `fuzz: the topology's stages per class, in process (${measured} records)\n${lines.join("\n")}`,
    );
    assert.equal(measured, inputs.length);
  });

  it("every voucher balances in SQL: sum of debits = sum of credits = amount", async () => {
    const unbalanced = await db.pool(1).query<{ idempotency_key: string }>(`
      SELECT v.idempotency_key FROM finance.voucher v LEFT JOIN finance.ledger_line l USING (voucher_id)
      GROUP BY v.voucher_id, v.idempotency_key, v.amount
      HAVING count(l.line_no) < 2
          OR sum(l.amount) FILTER (WHERE l.side = 'DEBIT') IS DISTINCT FROM v.amount
          OR sum(l.amount) FILTER (WHERE l.side = 'CREDIT') IS DISTINCT FROM v.amount`);
    assert.deepEqual(
      unbalanced.rows.map((r) => r.idempotency_key.slice(0, 120)),
      [],
    );
  });

  it("dead-letters every bad input on finance.posting.dlq with its key, value and headers byte for byte and the expected reason", () => {
    const wrong = report(inputs, aspects.get("dlq") as Map<FuzzInput, string[]>);
    assert.ok(wrong === "", `finance.posting.dlq differs from the rules:\n${wrong}`);
  });

  it("keeps every bad input in finance.dead_letter with its key and value bytes and reason (the oversize one too)", () => {
    const wrong = report(inputs, aspects.get("table") as Map<FuzzInput, string[]>);
    assert.ok(wrong === "", `finance.dead_letter differs from the rules:\n${wrong}`);
  });

  it("the replay summary counts dead letters and skips by reason as expected", () => {
    assert.ok(summary, "no replay summary: the replay did not finish");
    const dead = count(inputs.flatMap((i) => (i.expect.kind === "dead" ? [i.expect.reason] : [])));
    const skips = count(inputs.flatMap((i) => (i.expect.kind === "book" ? i.expect.booking.skips : [])));
    if (foreign === 0) {
      assert.deepEqual(summary.deadLetters, dead);
      assert.deepEqual(summary.skips, skips);
      return;
    }
    // Others published into this run's window too: their events are counted as well.
    console.log(
      `fuzz: ${foreign} records of others in the replay's window; summary counts checked as lower bounds`,
    );
    const excess = (got: Record<string, number>, want: Record<string, number>) => {
      for (const [reason, n] of Object.entries(want))
        assert.ok((got[reason] ?? 0) >= n, `${reason}: ${got[reason]} < ${n}`);
      return Object.entries(got).reduce((sum, [reason, n]) => sum + n - (want[reason] ?? 0), 0);
    };
    assert.ok(
      excess(summary.deadLetters, dead) <= foreign,
      JSON.stringify({ got: summary.deadLetters, dead, foreign }),
    );
    excess(summary.skips, skips);
  });
});
