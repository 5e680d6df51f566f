import assert from "node:assert/strict";
import type { Server } from "node:http";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { serveMetrics } from "../../src/commands/runtime.js";
import { loadConfig } from "../../src/config.js";
import { startMetricsServer } from "../../src/metrics.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";

/** One request, its status, headers and body. */
function call(port: number, method: string, path: string, host = "127.0.0.1") {
  return new Promise<{ status: number; allow: string | undefined; body: string }>((resolve, reject) => {
    const req = request({ host, port, method, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const health = { live: () => true, ready: () => false };

describe("metrics server: GET and HEAD only", () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = await startMetricsServer(metrics.registry, 0, health, async () => [], "127.0.0.1");
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const PATHS: [path: string, status: number, body: RegExp][] = [
    ["/metrics", 200, /finance_process_/],
    ["/healthz", 200, /^ok/],
    ["/readyz", 503, /not ready/],
  ];
  for (const [path, status, body] of PATHS) {
    it(`GET ${path} answers ${status}`, async () => {
      const res = await call(port, "GET", path);
      assert.equal(res.status, status);
      assert.match(res.body, body);
    });
    it(`HEAD ${path} answers ${status}, without a body`, async () => {
      const res = await call(port, "HEAD", path);
      assert.equal(res.status, status);
      assert.equal(res.body, "");
    });
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]) {
      it(`${method} ${path} answers 405 with Allow: GET, HEAD`, async () => {
        const res = await call(port, method, path);
        assert.equal(res.status, 405);
        assert.equal(res.allow, "GET, HEAD");
      });
    }
  }

  it("an unknown path answers 404, whatever the method", async () => {
    assert.equal((await call(port, "GET", "/")).status, 404);
    assert.equal((await call(port, "POST", "/admin")).status, 404);
  });
});

describe("metrics server: METRICS_HOST", () => {
  it("listens only on the host given", async () => {
    const server = await startMetricsServer(metrics.registry, 0, health, async () => [], "127.0.0.1");
    try {
      const address = server.address() as AddressInfo;
      assert.equal(address.address, "127.0.0.1");
    } finally {
      server.close();
    }
  });

  it("run's server listens on METRICS_HOST and METRICS_PORT", async () => {
    const probe = await startMetricsServer(metrics.registry, 0, health, async () => [], "127.0.0.1");
    const free = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = await serveMetrics(
      { config: loadConfig({ METRICS_HOST: "127.0.0.1", METRICS_PORT: String(free) }), log, metrics },
      health,
    );
    assert.ok(server);
    try {
      assert.deepEqual(
        { address: (server.address() as AddressInfo).address, port: (server.address() as AddressInfo).port },
        { address: "127.0.0.1", port: free },
      );
      assert.equal((await call(free, "DELETE", "/healthz")).status, 405);
    } finally {
      server.close();
    }
  });

  it("listens on every interface when none is given", async () => {
    const server = await startMetricsServer(metrics.registry, 0, health);
    try {
      const address = server.address() as AddressInfo;
      assert.ok(["::", "0.0.0.0"].includes(address.address), address.address);
      assert.equal((await call(address.port, "GET", "/healthz")).status, 200);
    } finally {
      server.close();
    }
  });
});
