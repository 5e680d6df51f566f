import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { AvroCodec, type RegistryConfig } from "../../src/avro/codec.js";
import { TransientInfraError, UndecodableError } from "../../src/errors.js";

const SCHEMA = { type: "record", name: "R", fields: [{ name: "id", type: "string" }] };

const framed = (schemaId: number) => {
  const wire = Buffer.from([0, 0, 0, 0, 0, 2, 0x61]); // {id: "a"}
  wire.writeInt32BE(schemaId, 1);
  return wire;
};

/**
 * A registry whose answer for each schema id is decided per request by `answer` (an HTTP
 * status: 200 serves SCHEMA), after `delayMs`; it counts requests per id and the most in flight.
 */
function registry(answer: (id: number, nth: number) => number, delayMs = 0) {
  const asked = new Map<number, number>();
  const stats = { inFlight: 0, maxInFlight: 0, total: 0 };
  const server = createServer((req, res) => {
    const id = Number(/\/schemas\/ids\/(-?\d+)/.exec(req.url ?? "")?.[1]);
    const nth = (asked.get(id) ?? 0) + 1;
    asked.set(id, nth);
    stats.total++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    setTimeout(() => {
      stats.inFlight--;
      const status = answer(id, nth);
      if (status === 200) {
        res
          .writeHead(200, { "Content-Type": "application/json" })
          .end(JSON.stringify({ schema: JSON.stringify(SCHEMA) }));
      } else res.writeHead(status, { "Content-Type": "application/json" }).end('{"message":"no"}');
    }, delayMs);
  });
  return { server, asked, stats };
}

describe("registry lookups of schema ids", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.closeAllConnections();
    for (const s of servers) s.close();
  });
  const codecOn = async (server: Server, options: Partial<RegistryConfig> = {}) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new AvroCodec({ url, attempts: 3, recheckDelayMs: 20, ...options });
  };

  it("are bounded: 40 unknown ids from two callers at once keep at most 4 requests in flight", async () => {
    const r = registry((id) => (id % 2 ? 200 : 404), 30);
    const codec = await codecOn(r.server);
    const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
    // Two partitions preparing overlapping batches at the same time.
    await Promise.all([codec.prepare(ids.map(framed)), codec.prepare(ids.slice(10).map(framed))]);
    assert.ok(r.stats.maxInFlight <= 4, `${r.stats.maxInFlight} requests in flight`);
    assert.ok(r.stats.maxInFlight >= 2, "lookups do run side by side");
    // An id two callers needed at the same time was asked for once (twice for a denied one: the re-check).
    for (const id of ids) assert.equal(r.asked.get(id), id % 2 ? 1 : 2, `id ${id}`);
    for (const id of ids) {
      if (id % 2) assert.deepEqual({ ...codec.decode<object>(framed(id)) }, { id: "a" });
      else assert.throws(() => codec.decode(framed(id)), UndecodableError);
    }
  });

  it("re-check a 404 before it becomes a verdict: a registry that briefly denies an id costs nothing", async () => {
    const r = registry((_, nth) => (nth === 1 ? 404 : 200));
    const codec = await codecOn(r.server, { recheckDelayMs: 100 });
    const started = Date.now();
    await codec.prepare([framed(7)]);
    assert.ok(Date.now() - started >= 100, "the second question waits a moment");
    assert.equal(r.asked.get(7), 2);
    assert.deepEqual({ ...codec.decode<object>(framed(7)) }, { id: "a" });
  });

  it("remember a confirmed 404 for a while only: the id is asked for again once the verdict lapses", async () => {
    let denying = true;
    const r = registry(() => (denying ? 404 : 200));
    const codec = await codecOn(r.server, { unknownIdTtlMs: 300 });
    await codec.prepare([framed(7)]);
    assert.throws(() => codec.decode(framed(7)), UndecodableError);
    assert.equal(r.asked.get(7), 2);
    // Within the TTL: UNDECODABLE without asking (a flood of such records costs the registry nothing).
    denying = false;
    for (let i = 0; i < 5; i++) await codec.prepare([framed(7), framed(7)]);
    assert.equal(r.asked.get(7), 2);
    assert.throws(() => codec.decode(framed(7)), UndecodableError);
    // After it: asked again, and the schema the registry now has is used.
    await new Promise((resolve) => setTimeout(resolve, 350));
    await codec.prepare([framed(7)]);
    assert.equal(r.asked.get(7), 3);
    assert.deepEqual({ ...codec.decode<object>(framed(7)) }, { id: "a" });
  });

  for (const status of [500, 502, 503]) {
    it(`stay transient in an outage (HTTP ${status}): retried, never a verdict, and the record decodes once the registry is back`, async () => {
      let down = true;
      const r = registry(() => (down ? status : 200));
      const codec = await codecOn(r.server, { attempts: 2 });
      await assert.rejects(codec.prepare([framed(7)]), TransientInfraError);
      assert.throws(() => codec.decode(framed(7)), UndecodableError); // not prepared, not remembered
      down = false;
      await codec.prepare([framed(7)]);
      assert.deepEqual({ ...codec.decode<object>(framed(7)) }, { id: "a" });
    });
  }

  it("stay transient when the re-check of a 404 meets an outage: no verdict from one answer", async () => {
    let phase: "deny" | "down" | "up" = "deny";
    const r = registry((_, nth) => (phase === "deny" && nth === 1 ? 404 : phase === "up" ? 200 : 503));
    const codec = await codecOn(r.server, { attempts: 2 });
    const pending = codec.prepare([framed(7)]);
    phase = "down";
    await assert.rejects(pending, TransientInfraError);
    phase = "up";
    await codec.prepare([framed(7)]);
    assert.deepEqual({ ...codec.decode<object>(framed(7)) }, { id: "a" });
  });

  it("stay transient when the registry refuses connections", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const codec = new AvroCodec({ url: `http://127.0.0.1:${port}`, attempts: 2, recheckDelayMs: 20 });
    await assert.rejects(codec.prepare([framed(7)]), TransientInfraError);
  });
});
