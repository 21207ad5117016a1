import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWorkosEmulator } from '../../../emulators/workos/server.ts';
import { workosSink } from '../../../sinks/workos.ts';
import { busiestWindow, runSink, sinkContext, userEnvelopes } from './harness.ts';

test('no one-second window of writes ever holds more than a 50/1s budget, and the budget is used: 500 rows, none refused', async () => {
  const emulator = await startWorkosEmulator({ writes: { limit: 50, windowMs: 1000 }, reads: null });
  try {
    const result = await runSink(emulator, userEnvelopes(500), sinkContext(), { rate: '50/1s' });

    assert.deepEqual(result, { written: 500, failed: 0, skipped: 0 });
    const writes = emulator.requests.filter((request) => request.method === 'POST');
    assert.equal(writes.length, 500);
    assert.equal(writes.filter((request) => request.status === 429).length, 0);
    assert.equal(busiestWindow(writes.map((request) => request.at), 1000), 50);
  } finally {
    await emulator.close();
  }
});

test('a budget that would never let a call through, or is not a rate at all, is refused before the run', () => {
  for (const rate of ['0/10s', '500/0s', '500', 'fast']) {
    const parsed = workosSink.options.safeParse({ rate });
    assert.equal(parsed.success, false, rate);
    assert.equal(parsed.error?.issues[0]?.message, 'expected calls per window such as 500/10s, 50/1s or 1000/1m, or none');
  }
  assert.deepEqual(
    ['500/10s', ' 50/s ', 'none'].map((rate) => workosSink.options.parse({ rate }).rate),
    ['500/10s', '50/s', 'none'],
  );
});
