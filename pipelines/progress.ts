// Progress for people on stderr: one rewritten line on a TTY, a plain line every 10 s otherwise.
import type { RunProgress } from './component.ts';
import { formatDuration } from './rate.ts';
import type { RunStats } from './run.ts';

/**
 * How much of the input file is read, and the time left at the pace so far. The source reads ahead of the writer by
 * a few rows only (backpressure), so the share read is the share done.
 */
function inputPart(share: number, seconds: number): string {
  const percent = `${Math.floor(share * 100)}% of the input`;
  if (share <= 0 || share >= 1) return `, ${percent}`;
  return `, ${percent}, about ${formatDuration(Math.round((seconds * (1 - share)) / share))} left`;
}

export function startProgress(stats: RunStats, progress: RunProgress, stream: NodeJS.WriteStream = process.stderr): () => void {
  const started = performance.now();
  const tty = stream.isTTY === true;
  const render = () => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(stats.read / seconds) : 0;
    // Only a sink that says how far it is has its counts shown: a file sink's would read 0 until the end.
    const written = progress.written + progress.failed > 0 ? `, written ${progress.written}, failed ${progress.failed}` : '';
    const input = progress.inputShare === undefined ? '' : inputPart(progress.inputShare(), seconds);
    return `read ${stats.read} rows, ${rate} rows/s${input}${written}, invalid ${stats.invalidRows}, ${seconds.toFixed(0)} s`;
  };
  const timer = setInterval(() => stream.write(tty ? `\r${render()}\u001b[K` : `${render()}\n`), tty ? 250 : 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) stream.write('\r\u001b[K');
  };
}
