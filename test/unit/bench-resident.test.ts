import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { ResidentMemory } from "../../tools/bench/cpu.js";

describe("bench peak RSS: resident memory of the pipeline's processes", {
  skip: !existsSync("/proc/self/statm"),
}, () => {
  it("reads the known processes at every sample and finds new ones only when it lists again", async () => {
    const resident = new ResidentMemory(1_000);
    const first = resident.sample(0);
    assert.ok((first.get(process.pid) ?? 0) > 10 * 1024 * 1024, "this process's own RSS");

    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    await once(child, "spawn");
    const pid = child.pid as number;
    try {
      assert.equal(resident.sample(500).has(pid), false, "not listed again before relistMs");
      const relisted = resident.sample(1_000);
      assert.ok((relisted.get(pid) ?? 0) > 0, "a descendant started since is found at the next listing");
      assert.ok(relisted.has(process.pid));
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    assert.equal(resident.sample(1_500).has(pid), false, "a process that ended drops out");
  });
});
