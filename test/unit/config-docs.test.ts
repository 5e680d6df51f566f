import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { buildCli } from "../../src/cli.js";
import { type ConfigVariable, configVariables } from "../../src/config.js";

/** The rows of the README's configuration table, by variable. */
function readmeTable(): Map<string, { default: string; meaning: string }> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Configuration\n"));
  assert.ok(section, "the README has a section ## Configuration");
  const rows = new Map<string, { default: string; meaning: string }>();
  for (const line of section.split("\n")) {
    const cells = /^\| `([A-Z0-9_]+)` \|(.*?)\|(.*)\|$/.exec(line);
    if (!cells) continue;
    const [, name, def, meaning] = cells as unknown as [string, string, string, string];
    rows.set(name, { default: def.trim().replace(/^`(.*)`$/, "$1"), meaning: meaning.trim() });
  }
  return rows;
}

/** The README row a variable should have. */
const row = (v: ConfigVariable) =>
  `| \`${v.name}\` | ${v.default === undefined ? "" : `\`${v.default}\``} | ${v.meaning} |`;

describe("configuration docs", () => {
  const variables = configVariables();

  it("the README's table has every variable of the schema, and only those", () => {
    const documented = [...readmeTable().keys()];
    const missing = variables.filter((v) => !documented.includes(v.name));
    assert.deepEqual(missing.map(row), [], "rows missing from the README's configuration table");
    const unknown = documented.filter((name) => !variables.some((v) => v.name === name));
    assert.deepEqual(unknown, [], "variables in the README that the config schema does not have");
  });

  it("the README's table gives each variable the schema's default and description", () => {
    const table = readmeTable();
    for (const v of variables) {
      const documented = table.get(v.name);
      if (!documented) continue;
      assert.deepEqual(documented, { default: v.default ?? "", meaning: v.meaning }, `expected ${row(v)}`);
    }
  });

  it("every variable is described, and the CLI's help lists each with its default", () => {
    let help = "";
    const cli = buildCli().configureOutput({ writeOut: (s) => (help += s) });
    cli.outputHelp();
    const words = help.replace(/\s+/g, " ");
    for (const v of variables) {
      assert.ok(v.meaning.length > 0, v.name);
      assert.match(help, new RegExp(`^  ${v.name} `, "m"));
      if (v.default !== undefined) assert.ok(words.includes(`(default ${v.default})`), v.name);
    }
  });
});
