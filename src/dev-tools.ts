import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * `simulate` and `bench` are development tools: their code lives in a checkout's tools/ (the test
 * oracle they verify against in test/oracle/), not in src/, and the package ships neither. The CLI
 * keeps their commands and flags; this is what it hands the parsed flags to.
 */

/** `finance-posting simulate`'s flags as parsed. */
export interface SimulateFlags {
  seed: number;
  merchants: number;
  events: number;
  partitions: number;
  bad?: boolean;
  history: boolean;
}

/** `finance-posting bench`'s flags as parsed. */
export interface BenchFlags {
  events: number;
  merchants: number;
  seed: number;
  keep?: boolean;
  history: boolean;
  profile?: string;
  stages?: boolean;
  live?: boolean;
  rate: number;
  seconds: number;
}

/** What tools/commands.ts exports as `devTools`. */
export interface DevTools {
  simulate: (flags: SimulateFlags) => Promise<void>;
  bench: (flags: BenchFlags) => Promise<void>;
}

export const DEV_TOOLS_MISSING =
  "simulate and bench are development tools, not part of the package: run them from a checkout, " +
  "through `npm run cli -- <command>` or after `npm run build` (which also builds them into dist-tools/)";

/**
 * The tools' entry, relative to this module: beside the sources when this runs as TypeScript
 * (tsx), else the build of tsconfig.tools.json in dist-tools/ of the checkout whose dist/ this
 * is. Undefined when absent, as in an installed package.
 */
export function devToolsEntry(here = import.meta.url): string | undefined {
  // The path, not the URL: a loader may add a query (tsx's tsImport adds its namespace).
  const entry = new URL(here).pathname.endsWith(".ts")
    ? "../tools/commands.ts"
    : "../dist-tools/tools/commands.js";
  return existsSync(fileURLToPath(new URL(entry, here))) ? entry : undefined;
}

/** Loads the tools, or undefined where there are none. */
export async function loadDevTools(): Promise<DevTools | undefined> {
  const entry = devToolsEntry();
  if (entry === undefined) return undefined;
  // A specifier relative to this module, resolved as this module's own imports are (through tsx
  // under TypeScript); not a literal, which would pull the tools into the package's build.
  const { devTools } = (await import(entry)) as { devTools: DevTools };
  return devTools;
}
