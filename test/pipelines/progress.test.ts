import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { progressLine, startProgress } from '../../pipelines/progress.ts';
import { emptyStats } from '../../pipelines/run.ts';

/** A terminal's stderr: the progress line is rewritten four times a second. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream;
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

/** Resolves once the terminal shows a line matching `line`, or fails after a few seconds with what it shows. */
async function shown(text: () => string, line: RegExp): Promise<void> {
  for (const deadline = performance.now() + 5000; !line.test(text()) && performance.now() < deadline; ) await sleep(50);
  assert.match(text(), line);
}

test('the progress line is rewritten in place on a terminal, and counts what the sink has written and failed so far, once it says; a file sink is not shown as 0 written', async () => {
  const stats = { ...emptyStats(), read: 40, invalidRows: 2 };
  const sink = { written: 0, failed: 0 };
  const { stream, text } = terminal();
  const stop = startProgress(stats, sink, stream);
  try {
    // \S is the escape that starts the erase to the end of the line.
    await shown(text, /\rread 40 rows, \d+ rows\/s, invalid 2, \d+ s\S\[K/);
    sink.written = 30;
    sink.failed = 1;
    await shown(text, /\rread 40 rows, \d+ rows\/s, written 30, failed 1, invalid 2, \d+ s\S\[K/);
  } finally {
    stop();
  }
});

test('with the share of the input file read, the progress line says how much is read and about how long is left', () => {
  // A quarter read in a second: about three seconds left.
  const line = progressLine({ ...emptyStats(), read: 10 }, { written: 0, failed: 0, inputShare: () => 0.25 }, 1);
  assert.equal(line, 'read 10 rows, 10 rows/s, 25% of the input done, about 3 s left, invalid 0, 1 s');
});

test('a sink that says how many rows it finished makes the share done that of the share read: the source reads far ahead of a slow sink', () => {
  // The whole file read in a second, a tenth of its rows written.
  const line = progressLine({ ...emptyStats(), read: 3000 }, { written: 300, failed: 0, finished: 300, passed: 3000, inputShare: () => 1 }, 1);
  assert.equal(line, 'read 3000 rows, 3000 rows/s, 10% of the input done, about 9 s left, written 300, failed 0, invalid 0, 1 s');
});

test('rows a stage joined count once: the share done is that of the rows given to the sink it finished', () => {
  // Three source rows per user (an import CSV's row per organization): 600 read, 200 given to the sink, 190 finished.
  const line = progressLine({ ...emptyStats(), read: 600 }, { written: 190, failed: 0, finished: 190, passed: 200, inputShare: () => 1 }, 10);
  assert.match(line, /95% of the input done, about 1 s left/);
});
