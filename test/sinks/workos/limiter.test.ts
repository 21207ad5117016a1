import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { PauseGate, RequestLimiter } from '../../../sinks/workos/limiter.ts';

test('a budget lowered before its window is spent holds in that window: the tokens it takes are taken from those free first', async () => {
  const limiter = new RequestLimiter({ limit: 10, windowMs: 1000 }, new PauseGate(new AbortController().signal));
  try {
    assert.deepEqual(limiter.slowDown(), { limit: 8, windowMs: 1000 });
    await nextTurn();
    const started = performance.now();
    const answeredAfter = await Promise.all(Array.from({ length: 10 }, () => limiter.schedule(async () => performance.now() - started)));
    assert.equal(answeredAfter.filter((ms) => ms < 900).length, 8, `answered after ${answeredAfter.map(Math.round).join(', ')} ms`);
  } finally {
    limiter.stop();
  }
});
