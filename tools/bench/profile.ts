import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

/** The parts of V8's CPU profile format read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface RunningProfile {
  /**
   * Writes this process's profile to `file`, and the sink process's (written by Node's
   * --cpu-prof into `sinkProfileDir` when it exited) beside it as `<file>.sink.cpuprofile`;
   * returns where the time went in each, one line per place.
   */
  stop(file: string, sinkProfileDir: string): Promise<string>;
}

/** Profiles this process's main thread with V8's sampling profiler until stopped. */
export async function startProfile(): Promise<RunningProfile> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 1000 });
  await session.post("Profiler.start");
  return {
    async stop(file, sinkProfileDir) {
      const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
      session.disconnect();
      await writeFile(file, JSON.stringify(profile));
      const found = [`  CPU profile of the pipeline process in ${file}; self time by place:`];
      found.push(formatFindings(selfTimeByPlace(profile)));
      const written = (await readdir(sinkProfileDir)).filter((f) => f.endsWith(".cpuprofile"));
      if (written[0]) {
        const sinkFile = file.replace(/(\.cpuprofile)?$/, ".sink.cpuprofile");
        await rename(join(sinkProfileDir, written[0]), sinkFile);
        const sinkProfile = JSON.parse(await readFile(sinkFile, "utf8")) as CpuProfile;
        found.push(`  CPU profile of the sink process in ${sinkFile}; self time by place:`);
        found.push(formatFindings(selfTimeByPlace(sinkProfile)));
      }
      await rm(sinkProfileDir, { recursive: true, force: true });
      return found.join("\n");
    },
  };
}

/**
 * Where a sampled function lives, coarse enough to act on: a dependency by package name,
 * Node's own code as "node", this project's code by source file, V8's pseudo-frames as named.
 */
export function placeOf(functionName: string, url: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith("node:")) return "node";
  const own = /\/(?:src|dist)\/(.+)$/.exec(url);
  return own ? (own[1] as string) : url;
}

export function selfTimeByPlace(profile: CpuProfile): Map<string, number> {
  const placeOfNode = new Map(
    profile.nodes.map((n) => [n.id, placeOf(n.callFrame.functionName, n.callFrame.url)]),
  );
  const micros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const place = placeOfNode.get(id) ?? "(unknown)";
    micros.set(place, (micros.get(place) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return micros;
}

function formatFindings(micros: Map<string, number>, top = 15): string {
  const total = [...micros.values()].reduce((a, b) => a + b, 0) || 1;
  return [...micros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([place, us]) => `    ${((100 * us) / total).toFixed(1).padStart(5)}%  ${place}`)
    .join("\n");
}
