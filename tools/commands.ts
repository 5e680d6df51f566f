import type { DevTools } from "../src/dev-tools.js";
import { benchCommand } from "./bench/command.js";
import { benchLive } from "./bench/live.js";
import { simulateCommand } from "./simulate/command.js";

/** The `simulate` and `bench` commands, as src/cli.ts finds them (src/dev-tools.ts). */
export const devTools: DevTools = {
  async simulate(flags) {
    await simulateCommand({ ...flags, bad: flags.bad === true });
  },
  async bench(flags) {
    const keep = flags.keep === true;
    if (flags.live) await benchLive({ ...flags, keep });
    else
      await benchCommand({ ...flags, keep, profile: flags.profile ?? null, stages: flags.stages === true });
  },
};
