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

test('a 429 with Retry-After in seconds pauses every call for that long, then the run goes on', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x1:retry=2' });
  const result = await runSink(emulator, userEnvelopes(3), sinkContext(), { concurrency: 1 });
  assert.deepEqual(result, { written: 3, failed: 0, skipped: 0 });
  const pause = pauseAfterFirst429(emulator);
  assert.ok(pause >= 2000 && pause < 3000, `paused ${pause} ms`);
});

test('a 429 with Retry-After as an HTTP date is honoured too', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x1:retry=date+3' });
  const result = await runSink(emulator, userEnvelopes(2), sinkContext(), { concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  // The date has whole seconds, so up to one second of the three may already be gone when it is read.
  const pause = pauseAfterFirst429(emulator);
  assert.ok(pause >= 2000 && pause < 3500, `paused ${pause} ms`);
});

test('repeated 429s lower the write budget by a fifth each time and say so', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x3:retry=1' });
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(2), run, { concurrency: 1 });
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  const lowered = run.lines.filter((line) => line.includes('budget lowered'));
  assert.deepEqual(lowered, ['warning: workos: 429s keep coming; write budget lowered to 400/10s\n', 'warning: workos: 429s keep coming; write budget lowered to 320/10s\n']);
});
