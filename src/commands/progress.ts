/** One progress line: done/total, percentage, rate and ETA. Pure, so it is testable. */
export function formatProgress(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  const eta = rate > 0 && total > done ? formatDuration(((total - done) / rate) * 1000) : "-";
  return `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} events (${pct.toFixed(1)}%) · ${Math.round(rate).toLocaleString("en-US")} events/s · ETA ${eta}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Redraws one line on a terminal; on a pipe or log file writes a line every few seconds
 * instead, so CI logs stay readable.
 */
export function startProgress(total: number, stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let done = 0;
  const tty = stream.isTTY === true;
  const draw = () => {
    const line = formatProgress(done, total, Date.now() - started);
    stream.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
  };
  const timer = setInterval(draw, tty ? 250 : 5_000);
  return {
    add(n: number) {
      done += n;
    },
    stop() {
      clearInterval(timer);
      draw();
      if (tty) stream.write("\n");
    },
  };
}
