import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { WorkosEmulator } from '../../../emulators/workos/server.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { hasErrors } from '../../../pipelines/record.ts';
import { openLedger } from '../../../state/ledger.ts';
import { tempDir } from '../../sources/context.ts';
import { mixedRows } from './harness.ts';

const ROWS = 3000;
const KILLS = 4;
const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

function startChild(emulator: WorkosEmulator, ledgerPath: string): { process: ChildProcess; output: () => string } {
  const process = spawn('node', ['--import', 'tsx', child, emulator.url, ledgerPath, String(ROWS)], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  process.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  process.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { process, output: () => output };
}

/** Waits until the emulator has seen `more` requests beyond `from`, or the child has ended. */
async function requestsArrived(emulator: WorkosEmulator, from: number, more: number, running: ChildProcess): Promise<void> {
  while (emulator.requests.length < from + more && running.exitCode === null) await sleep(2);
}

test('a run killed with SIGKILL four times, then resumed and run again, leaves exactly one user per row, every membership and factor, and never creates a done row again', async (t) => {
  // Small latency so kills land while calls are in flight; drop-after applies a write, then loses its answer.
  const emulator = await emulatorFor(t, { faults: 'latency=1-4,drop-after=0.02', seed: 7 });
  const ledgerPath = path.join(tempDir(), 'crash.db');
  const killedAfter: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const from = emulator.requests.length;
    const running = startChild(emulator, ledgerPath);
    const after = 150 + Math.floor(Math.random() * 700);
    await requestsArrived(emulator, from, after, running.process);
    assert.equal(running.process.exitCode, null, `the child ended before it could be killed: ${running.output()}`);
    running.process.kill('SIGKILL');
    await once(running.process, 'exit');
    killedAfter.push(after);
  }
  // Run to its end, then once more: a TOTP enrolment whose answer was lost is left for the next run to look up.
  for (let run = 0; run < 2; run++) {
    const last = startChild(emulator, ledgerPath);
    const [code] = (await once(last.process, 'exit')) as [number | null];
    assert.equal(code, 0, `killed after ${killedAfter.join(', ')} requests; last run said: ${last.output()}`);
  }

  const rows = mixedRows(ROWS);
  const valid = rows.filter((envelope) => !hasErrors(envelope));
  const { store } = emulator;
  assert.equal(store.users.size, valid.length);
  for (const { user } of valid) {
    const stored = store.userByEmail(user.email as string);
    assert.ok(stored, `${user.email} is missing`);
    for (const org of user.orgs ?? []) {
      const organization = store.organizationByExternalId(org.externalId as string);
      assert.ok(organization && store.membershipOf(stored.id, organization.id), `${user.email} is not in ${org.externalId}`);
    }
    assert.equal(store.authFactorsOfUser(stored.id).length, user.totpSecret === undefined ? 0 : 1, `factors of ${user.email}`);
  }
  assert.equal(store.organizations.size, 20);

  const createsByEmail = new Map<string, number>();
  for (const request of emulator.requests) {
    if (request.method !== 'POST' || request.path !== '/user_management/users' || !request.accepted) continue;
    const email = (request.body as { email: string }).email;
    createsByEmail.set(email, (createsByEmail.get(email) ?? 0) + 1);
  }
  const sentTwice = [...createsByEmail].filter(([, creates]) => creates > 1);
  assert.deepEqual(sentTwice, [], `killed after ${killedAfter.join(', ')} requests`);

  const ledger = openLedger(ledgerPath);
  try {
    const status = ledger.status();
    assert.equal(status.byState.done, valid.length);
    assert.equal(status.byState.invalid, ROWS - valid.length);
    assert.equal(status.byState.in_flight + status.byState.failed + status.byState.pending, 0);
  } finally {
    ledger.close();
  }
});
