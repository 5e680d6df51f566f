import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { devToolsEntry, loadDevTools } from "../../src/dev-tools.js";

const sourceModule = new URL("../../src/dev-tools.ts", import.meta.url).href;

test("simulate and bench: from the sources, the tools beside them, also under a loader's query", () => {
  assert.equal(devToolsEntry(sourceModule), "../tools/commands.ts");
  assert.equal(devToolsEntry(`${sourceModule}?tsx-namespace=1`), "../tools/commands.ts");
});

test("simulate and bench: none in a package without dist-tools/ (an installed package)", () => {
  const installed = mkdtempSync(join(tmpdir(), "finance-posting-package-"));
  assert.equal(devToolsEntry(pathToFileURL(join(installed, "dist", "dev-tools.js")).href), undefined);
});

test("simulate and bench: the tools load and give both commands", async () => {
  const tools = await loadDevTools();
  assert.equal(typeof tools?.simulate, "function");
  assert.equal(typeof tools?.bench, "function");
});
