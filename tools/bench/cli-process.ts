import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { inheritedExecArgv } from "../../src/commands/sink-child.js";

/**
 * This CLI run as a process of its own (the built bin, or src/cli.ts under tsx), as operators
 * start it; its output goes to this process's stderr, keeping stdout for the bench's figures.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const entry = process.argv[1] as string;
  return spawn(process.execPath, [...inheritedExecArgv(), entry, ...args], {
    env,
    stdio: ["ignore", 2, "inherit"],
  });
}

/** Runs this CLI to completion; rejects unless it exits 0. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = startCli(args, env);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  if (code !== 0) throw new Error(`finance-posting ${args[0]} exited with ${signal ?? `code ${code}`}`);
}
