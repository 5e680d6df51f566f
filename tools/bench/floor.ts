/** One bare pass of records through the Kafka client, measured in the bench process. */
export interface ClientPass {
  records: number;
  seconds: number;
  /** This process's CPU seconds in the pass (process.cpuUsage: user + system, all threads). */
  cpuSeconds: number;
}

/** The three passes an event makes through kafkajs in the pipeline, each done bare. */
export interface ClientFloor {
  /** The topology's fetch of the source records, with their decoding. */
  source: ClientPass;
  /** The topology's produce of the vouchers (idempotent, acks = all). */
  produce: ClientPass;
  /** The sink's fetch of the vouchers, with their decoding. */
  fetch: ClientPass;
}

const perThousand = (seconds: number, events: number) =>
  events > 0 ? ((seconds * 1000) / events).toFixed(3) : "n/a";
const grouped = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * The bench's lines for the client's floor: the CPU the three bare passes take per 1,000 of the
 * run's events, each and summed, and the pipeline's CPU (both of its processes; null where it
 * could not be read) as a multiple of the sum.
 */
export function clientFloorLines(floor: ClientFloor, events: number, pipelineCpu: number | null): string[] {
  const total = floor.source.cpuSeconds + floor.produce.cpuSeconds + floor.fetch.cpuSeconds;
  const pass = (label: string, p: ClientPass, what: string) =>
    `    ${label.padEnd(28)}${perThousand(p.cpuSeconds, events)}  (${grouped(p.records)} ${what}, ${grouped(p.seconds > 0 ? p.records / p.seconds : 0)}/s)`;
  return [
    `  client floor (kafkajs, three bare passes), CPU s per 1,000 events  ${perThousand(total, events)}`,
    pass("source fetch + decode", floor.source, "records"),
    pass("voucher produce (acks all)", floor.produce, "records"),
    pass("voucher fetch + decode", floor.fetch, "records"),
    ...(pipelineCpu !== null && total > 0
      ? [`  pipeline = ${(pipelineCpu / total).toFixed(1)}× the client floor (CPU per event)`]
      : []),
  ];
}
