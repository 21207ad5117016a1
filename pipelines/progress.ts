// Progress for people on stderr: one rewritten line on a TTY, a plain line every 10 s otherwise.
import type { SinkProgress } from './component.ts';
import type { RunStats } from './run.ts';

export function startProgress(stats: RunStats, sink: SinkProgress, stream: NodeJS.WriteStream = process.stderr): () => void {
  const started = performance.now();
  const tty = stream.isTTY === true;
  const render = () => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(stats.read / seconds) : 0;
    // Only a sink that says how far it is has its counts shown: a file sink's would read 0 until the end.
    const written = sink.written + sink.failed > 0 ? `, written ${sink.written}, failed ${sink.failed}` : '';
    return `read ${stats.read} rows, ${rate} rows/s${written}, invalid ${stats.invalidRows}, ${seconds.toFixed(0)} s`;
  };
  const timer = setInterval(() => stream.write(tty ? `\r${render()}\u001b[K` : `${render()}\n`), tty ? 250 : 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) stream.write('\r\u001b[K');
  };
}
