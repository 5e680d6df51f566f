import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { migrate } from "../../src/sinks/migrate.js";
import { SinkService } from "../../src/sinks/sink-service.js";
import { PostingService } from "../../src/topology/posting-service.js";
import { log } from "../support/log.js";
import { metrics } from "../support/metrics.js";
import { connectKafka, startGroupsAtEnd, type TestKafka, testConfig } from "../support/pipeline.js";
import { createThrowawayDb, type ThrowawayDb } from "../support/throwaway-db.js";

/**
 * A shutdown can come while a service is still starting (SIGTERM right after a restart, a
 * parent gone before its sink process is up). Stopped then, a service stays stopped: no
 * consumer left in its group, no error from the start that was cut short.
 */
describe("a service stopped while it is still starting stays stopped", () => {
  let db: ThrowawayDb;
  let k: TestKafka;
  const config = testConfig();

  before(async () => {
    db = await createThrowawayDb();
    await migrate(db.pool(1), log);
    k = await connectKafka(config);
    await startGroupsAtEnd(k, config);
  });

  after(async () => {
    await k?.close();
    await db?.drop();
  });

  /** Members of this deployment's groups: the topology's, the sink's and each instance's tables group. */
  const members = async () => {
    const ours = (await k.admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(`${config.CONSUMER_GROUP}.`));
    if (ours.length === 0) return 0;
    return (await k.admin.describeGroups(ours)).groups.reduce((n, g) => n + g.members.length, 0);
  };

  const services = {
    topology: () =>
      new PostingService({ config, kafka: k.kafka, codec: k.codec, log, metrics, pool: db.pool(1) }),
    sink: () => new SinkService({ config, kafka: k.kafka, codec: k.codec, log, metrics, pool: db.pool(1) }),
  };
  // Stops at several points of the start: before the first request, amid the table load or the joins.
  for (const [name, make] of Object.entries(services)) {
    for (const afterMs of [0, 50, 400, 1_500]) {
      it(`${name}: stopped ${afterMs} ms into its start`, async () => {
        const service = make();
        const started = service.start();
        await sleep(afterMs);
        await service.stop();
        await started; // cut short, not failed
        await sleep(1_500); // a consumer started after the stop would have joined by now
        // A member cut off mid-join leaves no LeaveGroup behind: the broker drops it after the
        // session timeout. A consumer still running heartbeats, and stays a member past it.
        const deadline = Date.now() + config.KAFKA_SESSION_TIMEOUT_MS + 5_000;
        let left = await members();
        while (left > 0 && Date.now() < deadline) {
          await sleep(500);
          left = await members();
        }
        assert.equal(left, 0, "no member left in any of the deployment's groups");
      });
    }
  }
});
