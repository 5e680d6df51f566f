import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { placeOf, selfTimeByPlace } from "../../tools/bench/profile.js";

describe("bench --profile: where the time went", () => {
  it("names a place coarsely enough to act on", () => {
    const cases: [string, string, string][] = [
      ["(garbage collector)", "", "(garbage collector)"],
      ["writeBuffer", "", "(native)"],
      ["encode", "file:///app/node_modules/kafkajs/src/protocol/request.js", "kafkajs"],
      [
        "register",
        "file:///app/node_modules/@kafkajs/confluent-schema-registry/dist/x.js",
        "@kafkajs/confluent-schema-registry",
      ],
      ["emit", "node:events", "node"],
      ["post", "file:///app/dist/rules/sale-receipt.js", "rules/sale-receipt.js"],
      ["post", "file:///app/src/rules/sale-receipt.ts", "rules/sale-receipt.ts"],
    ];
    for (const [fn, url, place] of cases) assert.equal(placeOf(fn, url), place, `${fn} ${url}`);
  });

  it("sums each sample's time into the place of the function it hit", () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: "(idle)", url: "" } },
        { id: 2, callFrame: { functionName: "a", url: "file:///x/node_modules/avsc/lib/types.js" } },
        { id: 3, callFrame: { functionName: "b", url: "file:///x/node_modules/avsc/lib/utils.js" } },
      ],
      samples: [1, 2, 3, 2],
      timeDeltas: [10, 5, 7, 3],
    };
    assert.deepEqual(Object.fromEntries(selfTimeByPlace(profile)), { "(idle)": 10, avsc: 15 });
  });
});
