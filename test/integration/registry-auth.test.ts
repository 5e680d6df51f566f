import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { AvroCodec } from "../../src/avro/codec.js";
import { runtime } from "../../src/commands/runtime.js";
import { loadConfig } from "../../src/config.js";
import { TransientInfraError } from "../../src/errors.js";
import { capturedLog } from "../support/captured-log.js";
import { ensureStack } from "../support/stack.js";

/**
 * Basic auth to the schema registry (issue 20 item 8: "nothing tests registry auth"). The stack's
 * Apicurio has no auth, so a small proxy here demands HTTP basic auth in front of it and forwards
 * what carries the right Authorization header. The project's codec, built by the runtime from a
 * config loadConfig validated (SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_USERNAME,
 * SCHEMA_REGISTRY_PASSWORD), registers a schema and fetches it back through the proxy; with a
 * wrong password the registry answers 401 and the error says so, with no password in it.
 */
const USERNAME = "finance-posting";
const PASSWORD = `pw-${randomBytes(16).toString("hex")}`;
const WRONG_PASSWORD = `wrong-${randomBytes(16).toString("hex")}`;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}`;

interface AuthProxy {
  url: string;
  /** Every Authorization header seen (undefined when none), with the request it came on. */
  seen: Array<{ method: string; path: string; authorization: string | undefined; allowed: boolean }>;
  close(): Promise<void>;
}

/** A proxy to `upstream` (the registry's origin) that answers 401 unless the basic credentials match. */
async function authProxy(upstream: URL, expected: string): Promise<AuthProxy> {
  const seen: AuthProxy["seen"] = [];
  const server: Server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    const allowed = authorization === expected;
    seen.push({ method: req.method ?? "?", path: req.url ?? "?", authorization, allowed });
    if (!allowed) {
      req.resume();
      res.writeHead(401, {
        "WWW-Authenticate": 'Basic realm="registry"',
        "Content-Type": "application/vnd.schemaregistry.v1+json",
      });
      res.end(JSON.stringify({ error_code: 401, message: "Unauthorized" }));
      return;
    }
    const { authorization: _a, host: _h, ...headers } = req.headers;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/apis/ccompat/v7`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function everythingIn(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    parts.push(inspect(cur, { depth: 6 }));
    if (cur instanceof Error) parts.push(cur.message, cur.stack ?? "");
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join("\n");
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of [PASSWORD, WRONG_PASSWORD]) {
    assert.ok(!text.includes(secret), `${where} holds a password`);
    // The header's base64 carries the password too.
    assert.ok(
      !text.includes(Buffer.from(`${USERNAME}:${secret}`).toString("base64")),
      `${where} holds credentials`,
    );
  }
}

const schema = (name: string) => ({
  type: "record",
  name,
  namespace: "test.registryauth",
  fields: [
    { name: "id", type: "string" },
    { name: "amount", type: "long" },
  ],
});

describe("schema registry behind HTTP basic auth", () => {
  let proxy: AuthProxy;
  let envFor: (password: string) => NodeJS.ProcessEnv;

  before(async () => {
    const { schemaRegistryUrl } = await ensureStack();
    proxy = await authProxy(new URL(schemaRegistryUrl), basic(USERNAME, PASSWORD));
    envFor = (password) => ({
      ...process.env,
      SCHEMA_REGISTRY_URL: proxy.url,
      SCHEMA_REGISTRY_USERNAME: USERNAME,
      SCHEMA_REGISTRY_PASSWORD: password,
    });
  });
  after(() => proxy?.close());

  it("registers and fetches a schema with the configured credentials (the proxy saw them)", async () => {
    const subject = `registry-auth-${randomBytes(6).toString("hex")}-value`;
    const name = `Rec${randomBytes(6).toString("hex")}`;
    const config = loadConfig(envFor(PASSWORD));
    assert.equal(config.SCHEMA_REGISTRY_USERNAME, USERNAME);
    const writer = runtime(envFor(PASSWORD)).codec;
    const before = proxy.seen.length;
    const id = await writer.register(subject, schema(name));
    const wire = writer.encode(id, { id: "a-1", amount: 42n });

    // Another instance knows nothing yet: it fetches the writer's schema by id, through the proxy.
    const reader = runtime(envFor(PASSWORD)).codec;
    await reader.prepare([wire]);
    const decoded = reader.decode<{ id: string; amount: unknown }>(wire);
    assert.equal(decoded.id, "a-1");
    assert.equal(Number(decoded.amount), 42);

    const requests = proxy.seen.slice(before);
    assert.ok(
      requests.length >= 3,
      `compatibility, register and fetch went through the proxy: ${requests.length}`,
    );
    assert.ok(
      requests.every((r) => r.allowed && r.authorization === basic(USERNAME, PASSWORD)),
      "every request carried the configured credentials",
    );
    assert.ok(requests.some((r) => r.method === "PUT" && r.path.includes(`/config/${subject}`)));
    assert.ok(requests.some((r) => r.method === "POST" && r.path.includes(`/subjects/${subject}/versions`)));
    assert.ok(requests.some((r) => r.method === "GET" && r.path.includes(`/schemas/ids/${id}`)));
  });

  it("a wrong password: 401, said clearly, no password in the error; retried as an outage, never a verdict on a record", async () => {
    const config = loadConfig(envFor(WRONG_PASSWORD));
    const cap = capturedLog();
    // The runtime's codec with fewer attempts, so the test does not wait through five backoffs.
    const codec = new AvroCodec({
      url: config.SCHEMA_REGISTRY_URL,
      auth: { username: USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD ?? "" },
      attempts: 2,
    });
    const before = proxy.seen.length;

    const registering = await codec
      .register(`registry-auth-wrong-${randomBytes(4).toString("hex")}-value`, schema("Wrong"))
      .then(
        () => assert.fail("registered with a wrong password"),
        (e: unknown) => e,
      );
    assert.ok(registering instanceof TransientInfraError, inspect(registering));
    assert.match((registering as Error).message, /HTTP 401/);

    // A record framed with some id: the lookup is refused (401), which says nothing about the id,
    // so prepare throws TransientInfraError (the pipeline retries) rather than UNDECODABLE.
    const framed = Buffer.from([0, 0, 0, 0, 1, 2]);
    const fetching = await codec.prepare([framed]).then(
      () => assert.fail("prepared with a wrong password"),
      (e: unknown) => e,
    );
    assert.ok(fetching instanceof TransientInfraError, inspect(fetching));
    assert.match(everythingIn(fetching), /401|Unauthorized/);

    for (const e of [registering, fetching]) {
      cap.log.warn({ err: e }, "schema registry failed");
      assertNoSecret(everythingIn(e), "the error and its causes");
    }
    assertNoSecret(cap.text(), "the log");
    const requests = proxy.seen.slice(before);
    assert.ok(requests.length > 0 && requests.every((r) => !r.allowed));
    assert.ok(requests.every((r) => r.authorization === basic(USERNAME, WRONG_PASSWORD)));
  });

  it("no credentials at all: the proxy sees no Authorization header and the error says 401", async () => {
    const codec = new AvroCodec({ url: proxy.url, attempts: 1 });
    const e = await codec.prepare([Buffer.from([0, 0, 0, 0, 1, 2])]).then(
      () => assert.fail("prepared without credentials"),
      (err: unknown) => err,
    );
    assert.ok(e instanceof TransientInfraError);
    assert.match(everythingIn(e), /401|Unauthorized/);
    assert.equal(proxy.seen.at(-1)?.authorization, undefined);
  });
});
