#!/usr/bin/env node
// Runs the compiled CLI (npm run build); in a source checkout without a build, runs the TypeScript through tsx.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
if (existsSync(compiled)) {
  const { main } = await import(compiled);
  await main(process.argv);
} else {
  const { tsImport } = await import("tsx/esm/api");
  const { main } = await tsImport("../src/cli.ts", import.meta.url);
  await main(process.argv);
}
