import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Positions, partitionKey } from "../../src/kafka/positions.js";

const settled = async (p: Promise<void>) => Promise.race([p.then(() => true), sleep(20).then(() => false)]);

describe("consumer positions against end offsets", () => {
  it("resolves only when every partition has reached its end offset", async () => {
    const positions = new Positions();
    const reached = positions.reached(
      new Map([
        [partitionKey("a", 0), 10n],
        [partitionKey("a", 1), 5n],
      ]),
    );
    positions.advance("a", 0, 10n);
    assert.equal(await settled(reached), false);
    positions.advance("a", 1, 4n);
    assert.equal(await settled(reached), false);
    positions.advance("a", 1, 6n);
    assert.equal(await settled(reached), true);
  });

  it("counts progress made before the end offsets were known, and never moves back", async () => {
    const positions = new Positions();
    positions.advance("a", 0, 10n);
    positions.advance("a", 0, 3n);
    assert.equal(await settled(positions.reached(new Map([[partitionKey("a", 0), 10n]]))), true);
  });

  it("is reached at once for no end offsets", async () => {
    assert.equal(await settled(new Positions().reached(new Map())), true);
  });
});
