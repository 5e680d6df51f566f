// A child process for heap.test.ts: keeps some data live while allocating batches that die
// young, like replay, and prints the largest heap it saw under the given growth limit.
import { limitHeapGrowth } from "../../src/heap.js";

limitHeapGrowth(Number(process.argv[2]));
const live: unknown[] = [];
for (let i = 0; i < 400_000; i++) live.push({ id: `row-${i}`, n: i });
let peak = 0;
for (let round = 0; round < 120; round++) {
  const batch: unknown[] = [];
  for (let i = 0; i < 60_000; i++) batch.push({ round, i, text: `item-${i}` });
  live[round] = batch.length;
  peak = Math.max(peak, process.memoryUsage().heapTotal);
}
process.stdout.write(`${JSON.stringify({ peak, live: live.length })}\n`);
