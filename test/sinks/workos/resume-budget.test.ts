import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { tempDir } from '../../sources/context.ts';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const BUDGET = { limit: 40, windowMs: 2000 };

function writeInChild(url: string, ledgerPath: string) {
  const args = ['--import', 'tsx', child, url, ledgerPath, '100', `${BUDGET.limit}/${BUDGET.windowMs}ms`];
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
