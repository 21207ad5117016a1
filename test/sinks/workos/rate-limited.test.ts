import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkosEmulator } from '../../../emulators/workos/server.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { runSink, sinkContext, userEnvelopes } from './harness.ts';

/** Milliseconds between the first 429 and the next request that reached the server. */
function pauseAfterFirst429(emulator: WorkosEmulator): number {
  const index = emulator.requests.findIndex((request) => request.status === 429);
  const [limited, next] = [emulator.requests[index], emulator.requests[index + 1]];
  assert.ok(limited && next, 'expected a 429 and a request after it');
  return next.at - limited.at;
}

// The HTTP date has whole seconds, so up to one second of its three may already be gone when it is read.
const RETRY_AFTER_FORMATS = [
  { name: 'in seconds', retry: '2', atLeastSeconds: 2, atMostSeconds: 2 },
  { name: 'as an HTTP date', retry: 'date+3', atLeastSeconds: 2, atMostSeconds: 3 },
];

for (const { name, retry, atLeastSeconds, atMostSeconds } of RETRY_AFTER_FORMATS) {
  test(`a 429 with Retry-After ${name} pauses every call for that long, then the run goes on`, async (t) => {
    const emulator = await emulatorFor(t, { faults: `storm=429x1:retry=${retry}` });
    const run = sinkContext();
    const result = await runSink(emulator, userEnvelopes(3), run, { concurrency: 1 });
    assert.deepEqual(result, { written: 3, failed: 0, skipped: 0 });
    const pause = pauseAfterFirst429(emulator);
    assert.ok(pause >= atLeastSeconds * 1000, `paused ${pause} ms`);
    const said = run.lines.flatMap((line) => /pausing every call for ([\d.]+) s \(Retry-After\)/.exec(line)?.[1] ?? []).map(Number);
    assert.ok(said.length === 1 && said.every((seconds) => seconds >= atLeastSeconds && seconds <= atMostSeconds), run.lines.join(''));
  });
}

test('a 429 with an HTML page for a body (a gateway in front of the API) pauses and sends again, failing no row', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x2:retry=1:page' });
  const result = await runSink(emulator, userEnvelopes(3), sinkContext(), { concurrency: 1 });
  assert.deepEqual(result, { written: 3, failed: 0, skipped: 0 });
  const pause = pauseAfterFirst429(emulator);
  assert.ok(pause >= 1000, `paused ${pause} ms`);
});

test('a Retry-After of 0 still pauses for the backoff, instead of sending every call straight back', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x1:retry=0' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(2), run, { concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  const pause = pauseAfterFirst429(emulator);
  assert.ok(pause >= 500, `paused ${pause} ms`);
  assert.ok(run.lines.some((line) => line.includes('(Retry-After too short, backing off)')), run.lines.join(''));
});

test('429s that keep coming lower the write budget by a fifth, once a window at most however many pauses it holds, and say so', async (t) => {
  // Five pauses of Retry-After 1 within one 10 s window: lowered at each, the budget was at 163/10s when it passed.
  const emulator = await emulatorFor(t, { faults: 'storm=429x5:retry=1' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(2), run, { concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  const lowered = run.lines.filter((line) => line.includes('budget lowered'));
  assert.deepEqual(lowered, ['warning: workos: 429s keep coming; write budget lowered to 400/10s\n']);
});

test('429s answered together to calls in flight together are one event: the backoff grows per event, not per answer', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x8:retry=none' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(8), run, { concurrency: 8 });
  assert.deepEqual(result, { written: 8, failed: 0, skipped: 0 });
  // Backoffs are 0.5-1 s, then 1-2 s: growing once per answer, eight answers would have reached a minute.
  const pauses = run.lines.flatMap((line) => /pausing every call for ([\d.]+) s/.exec(line)?.[1] ?? []).map(Number);
  assert.ok(pauses.length >= 1 && pauses.length <= 2 && pauses.every((seconds) => seconds <= 2), `pauses ${pauses.join(', ')} s`);
});

test('a storm that keeps its Retry-After is waited out by it, event after event, not by a backoff that outgrows it', async (t) => {
  // Five events of eight answers at Retry-After 1: the storm passes in about five seconds.
  const emulator = await emulatorFor(t, { faults: 'storm=429x40:retry=1' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(8), run, { concurrency: 8 });
  assert.deepEqual(result, { written: 8, failed: 0, skipped: 0 });
  const pauses = run.lines.flatMap((line) => /pausing every call for ([\d.]+) s \(Retry-After\)/.exec(line)?.[1] ?? []).map(Number);
  assert.ok(pauses.length >= 4 && pauses.every((seconds) => seconds === 1), `pauses ${pauses.join(', ')} s`);
});

test('a budget lowered by 429s is raised back, a step at a time, once three windows pass without one', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x2:retry=none' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(200), run, { concurrency: 1, rate: '50/100ms' });
  assert.deepEqual(result, { written: 200, failed: 0, skipped: 0 });
  const budgets = run.lines.filter((line) => line.includes('budget lowered') || line.includes('budget raised'));
  assert.deepEqual(budgets, [
    'warning: workos: 429s keep coming; write budget lowered to 40/100ms\n',
    'workos: no 429s for a while; write budget raised to 50/100ms\n',
  ]);
});
