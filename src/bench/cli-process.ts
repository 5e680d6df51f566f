import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

/** Node options a child must not inherit: a debugger port, profiler output. */
const NOT_INHERITED = /^--(inspect|cpu-prof|heap-prof|prof)/;

/**
 * This CLI run as a process of its own (the built bin, or src/cli.ts under tsx), as operators
 * start it; its output goes to this process's stderr, keeping stdout for the bench's figures.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const entry = process.argv[1] as string;
  const execArgv = process.execArgv.filter((a) => !NOT_INHERITED.test(a));
  return spawn(process.execPath, [...execArgv, entry, ...args], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Runs this CLI to completion; rejects unless it exits 0. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = startCli(args, env);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  if (code !== 0) throw new Error(`finance-posting ${args[0]} exited with ${signal ?? `code ${code}`}`);
}
