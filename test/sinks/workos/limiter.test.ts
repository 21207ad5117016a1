import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { PauseGate, RequestLimiter } from '../../../sinks/workos/limiter.ts';

/**
 * `count` calls through the limiter that hold their token until released: no token comes back meanwhile, so how many
 * have started is how many tokens the budget had.
 */
function heldCalls(limiter: RequestLimiter, count: number) {
  let started = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const calls = Array.from({ length: count }, () => limiter.schedule(async () => void (started++, await released)));
  return {
    started: () => started,
    /** Resolves once `expected` calls have started, or after `withinMs` with how many had. */
    async startedUpTo(expected: number, withinMs: number): Promise<number> {
      for (const deadline = performance.now() + withinMs; started < expected && performance.now() < deadline; ) await sleep(10);
      return started;
    },
    async finish() {
      release();
      await Promise.allSettled(calls);
    },
  };
}

test('a budget lowered before its window is spent holds in that window: the tokens it takes are taken from those free first', async () => {
  const limiter = new RequestLimiter({ limit: 10, windowMs: 1000 }, new PauseGate(new AbortController().signal));
  assert.deepEqual(limiter.slowDown(), { limit: 8, windowMs: 1000 });
  await nextTurn();
  const calls = heldCalls(limiter, 10);
  try {
    assert.equal(await calls.startedUpTo(8, 5000), 8);
    await sleep(200);
    assert.equal(calls.started(), 8);
  } finally {
    limiter.stop();
    await calls.finish();
  }
});

test('budgets lowered while calls hold most tokens, and raised again, give every token back: none is lost', async () => {
  const limiter = new RequestLimiter({ limit: 10, windowMs: 300 }, new PauseGate(new AbortController().signal));
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
  const calls = heldCalls(limiter, 10);
  try {
    // A lost token would never come back while these hold theirs.
    assert.equal(await calls.startedUpTo(10, 5000), 10);
  } finally {
    limiter.stop();
    await calls.finish();
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
