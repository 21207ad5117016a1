import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { startProgress } from '../../pipelines/progress.ts';
import type { RunProgress } from '../../pipelines/component.ts';
import { emptyStats, type RunStats } from '../../pipelines/run.ts';

/** A terminal's stderr: the progress line is rewritten four times a second. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream;
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

test('the progress line counts what the sink has written and failed so far, once it says; a file sink is not shown as 0 written', async () => {
  const stats = { ...emptyStats(), read: 40, invalidRows: 2 };
  const sink = { written: 0, failed: 0 };
  const { stream, text } = terminal();
  const stop = startProgress(stats, sink, stream);
  try {
    await sleep(300);
    assert.match(text(), /read 40 rows, \d+ rows\/s, invalid 2, \d+ s/);
    sink.written = 30;
    sink.failed = 1;
    await sleep(300);
    assert.match(text(), /read 40 rows, \d+ rows\/s, written 30, failed 1, invalid 2, \d+ s/);
  } finally {
    stop();
  }
});

/** What a terminal shows of the progress line after `ms` of a run at `stats` and `progress`. */
async function shownAfter(ms: number, stats: RunStats, progress: RunProgress): Promise<string> {
  const { stream, text } = terminal();
  const stop = startProgress(stats, progress, stream);
  try {
    await sleep(ms);
    return text();
  } finally {
    stop();
  }
}

test('with the share of the input file read, the progress line says how much is read and about how long is left', async () => {
  const shown = await shownAfter(1100, { ...emptyStats(), read: 10 }, { written: 0, failed: 0, inputShare: () => 0.25 });
  // A quarter read in about a second: about three seconds left.
  assert.match(shown, /read 10 rows, \d+ rows\/s, 25% of the input done, about [34] s left, invalid 0, 1 s/);
});

test('a sink that says how many rows it finished makes the share done that of the share read: the source reads far ahead of a slow sink', async () => {
  // The whole file read in a second, a tenth of its rows written.
  const shown = await shownAfter(1100, { ...emptyStats(), read: 3000 }, { written: 300, failed: 0, finished: 300, passed: 3000, inputShare: () => 1 });
  assert.match(shown, /read 3000 rows, \d+ rows\/s, 10% of the input done, about (9|10) s left, written 300, failed 0, invalid 0, 1 s/);
});

test('rows a stage joined count once: the share done is that of the rows given to the sink it finished', async () => {
  // Three source rows per user (an import CSV's row per organization): 600 read, 200 given to the sink, 190 finished.
  const shown = await shownAfter(300, { ...emptyStats(), read: 600 }, { written: 190, failed: 0, finished: 190, passed: 200, inputShare: () => 1 });
  assert.match(shown, /95% of the input done/);
});
