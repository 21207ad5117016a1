import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
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

test('budgets lowered while calls hold most tokens, and raised again, give every token back: none is lost', async () => {
  const limiter = new RequestLimiter({ limit: 10, windowMs: 300 }, new PauseGate(new AbortController().signal));
  try {
    const held = Array.from({ length: 8 }, () => limiter.schedule(() => sleep(400)));
    await sleep(30);
    // Two more calls take the last free tokens in the same turn as the lowering, and a second one comes a window later.
    held.push(limiter.schedule(() => sleep(400)), limiter.schedule(() => sleep(400)));
    limiter.slowDown();
    await sleep(30);
    limiter.slowDown();
    await Promise.all(held);
    await sleep(700);
    while (limiter.speedUp() !== null);
    const started = performance.now();
    const answeredAfter = await Promise.all(Array.from({ length: 10 }, () => limiter.schedule(async () => performance.now() - started)));
    assert.ok(Math.max(...answeredAfter) < 250, `answered after ${answeredAfter.map(Math.round).join(', ')} ms: the budget lost tokens`);
  } finally {
    limiter.stop();
  }
});

test('a limiter without a budget, once stopped, refuses the calls that come after instead of sending them', async () => {
  const limiter = new RequestLimiter(null, new PauseGate(new AbortController().signal));
  let sent = 0;
  assert.equal(await limiter.schedule(async () => ++sent), 1);
  limiter.stop();
  await assert.rejects(
    limiter.schedule(async () => ++sent),
    { name: 'Interrupted' },
  );
  assert.equal(sent, 1);
});
