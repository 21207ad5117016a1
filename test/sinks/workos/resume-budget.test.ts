import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { tempDir } from '../../sources/context.ts';
import { bodyOf, busiestWindow, forward, serve } from './harness.ts';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const BUDGET = { limit: 40, windowMs: 2000 };

function writeInChild(url: string, ledgerPath: string, rows = 100, rate = `${BUDGET.limit}/${BUDGET.windowMs}ms`) {
  const args = ['--import', 'tsx', child, url, ledgerPath, String(rows), rate];
  return spawn('node', args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}

test('a run resumed right after a kill -9 spends only what the killed run left of the budget: the server never answers 429', async (t) => {
  const emulator = await emulatorFor(t, { writes: BUDGET });
  const ledgerPath = path.join(tempDir(), 'resume.db');
  const killed = writeInChild(emulator.url, ledgerPath);
  // Killed once it has spent its whole first window: a resume with a fresh budget would send as much again at once.
  while (emulator.requests.filter((request) => request.method !== 'GET').length < BUDGET.limit) await sleep(2);
  killed.kill('SIGKILL');
  await once(killed, 'exit');

  const resumed = writeInChild(emulator.url, ledgerPath);
  const [code] = (await once(resumed, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.equal(emulator.store.users.size, 99);
  assert.deepEqual(
    emulator.requests.filter((request) => request.status === 429).map((request) => `${request.method} ${request.path}`),
    [],
  );
});

test('a run on a slow server killed before any of its writes was answered has them counted by the run resumed right after', async (t) => {
  const emulator = await emulatorFor(t);
  // In front of the emulator: each user create arrives now and reaches WorkOS three seconds later, as on a slow server.
  const arrivals: number[] = [];
  const baseUrl = await serve(t, async (request, response) => {
    const body = await bodyOf(request);
    const create = request.method === 'POST' && request.url === '/user_management/users';
    if (create) arrivals.push(Date.now());
    if (create) await sleep(3000);
    if (!request.socket.destroyed) await forward(emulator, request, body, response);
  });
  const ledgerPath = path.join(tempDir(), 'slow.db');
  const killed = writeInChild(baseUrl, ledgerPath, 16, '8/2000ms');
  while (arrivals.length < 8) await sleep(2);
  killed.kill('SIGKILL');
  await once(killed, 'exit');

  const resumed = writeInChild(baseUrl, ledgerPath, 16, '8/2000ms');
  const [code] = (await once(resumed, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.equal(busiestWindow(arrivals, 2000), 8);
});
