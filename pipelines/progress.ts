// Progress for people on stderr: one rewritten line on a TTY, a plain line every 10 s otherwise.
import type { RunProgress } from './component.ts';
import { formatDuration } from './rate.ts';
import type { RunStats } from './run.ts';

/**
 * How much of the input file is done, and the time left at the pace so far. The source and the stages read ahead of
 * a slow sink by thousands of rows (their buffers), a 3,000-row file at once: of the share read, the part done is
 * that of the rows given to the sink it has finished, when it says (given, not read: dedupe joins rows).
 */
function inputPart(shareRead: number, progress: RunProgress, seconds: number): string {
  const { finished, passed } = progress;
  const share = finished === undefined || !passed ? shareRead : shareRead * Math.min(1, finished / passed);
  const percent = `${Math.floor(share * 100)}% of the input done`;
  if (share <= 0 || share >= 1) return `, ${percent}`;
  return `, ${percent}, about ${formatDuration(Math.round((seconds * (1 - share)) / share))} left`;
}

/** The progress line of a run `seconds` in. */
export function progressLine(stats: RunStats, progress: RunProgress, seconds: number): string {
  const rate = seconds > 0 ? Math.round(stats.read / seconds) : 0;
  // Only a sink that says how far it is has its counts shown: a file sink's would read 0 until the end.
  const written = progress.written + progress.failed > 0 ? `, written ${progress.written}, failed ${progress.failed}` : '';
  const input = progress.inputShare === undefined ? '' : inputPart(progress.inputShare(), progress, seconds);
  return `read ${stats.read} rows, ${rate} rows/s${input}${written}, invalid ${stats.invalidRows}, ${seconds.toFixed(0)} s`;
}

export function startProgress(stats: RunStats, progress: RunProgress, stream: NodeJS.WriteStream = process.stderr): () => void {
  const started = performance.now();
  const tty = stream.isTTY === true;
  const render = () => progressLine(stats, progress, (performance.now() - started) / 1000);
  const timer = setInterval(() => stream.write(tty ? `\r${render()}\u001b[K` : `${render()}\n`), tty ? 250 : 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) stream.write('\r\u001b[K');
  };
}
