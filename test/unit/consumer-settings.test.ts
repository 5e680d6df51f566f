import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { sinkConsumerSettings, topologyConsumerSettings } from "../../src/kafka/client.js";

describe("consumer fetch sizes", () => {
  it("gives the sink its own, larger fetches by default, and the topology the general ones", () => {
    const config = loadConfig({});
    assert.deepEqual(
      [topologyConsumerSettings(config).maxBytes, topologyConsumerSettings(config).maxBytesPerPartition],
      [8 * 1024 * 1024, 128 * 1024],
    );
    assert.deepEqual(
      [sinkConsumerSettings(config).maxBytes, sinkConsumerSettings(config).maxBytesPerPartition],
      [16 * 1024 * 1024, 2 * 1024 * 1024],
    );
  });

  it("takes the sink's fetch sizes from SINK_FETCH_MAX_BYTES and SINK_PARTITION_FETCH_MAX_BYTES, and its group timing from the general settings", () => {
    const config = loadConfig({
      SINK_FETCH_MAX_BYTES: "4096",
      SINK_PARTITION_FETCH_MAX_BYTES: "2048",
      KAFKA_SESSION_TIMEOUT_MS: "12000",
      KAFKA_REBALANCE_TIMEOUT_MS: "7000",
    });
    const sink = sinkConsumerSettings(config);
    assert.equal(sink.maxBytes, 4096);
    assert.equal(sink.maxBytesPerPartition, 2048);
    assert.equal(sink.sessionTimeout, 12_000);
    assert.equal(sink.rebalanceTimeout, 7_000);
    assert.equal(topologyConsumerSettings(config).rebalanceTimeout, 7_000);
    assert.equal(topologyConsumerSettings(config).maxBytes, 8 * 1024 * 1024);
  });
});
