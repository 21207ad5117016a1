import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { NOT_VALIDATED } from '../../../state/replay.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { runSink, sinkContext, userEnvelope, userEnvelopes } from './harness.ts';

const orgs = [{ externalId: 'acme', name: 'Acme', roles: ['member'] }];

test('a dry run sends no request, creates no ledger and reports what a run would do', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext({ dryRun: true });
  const rows = userEnvelopes(5, (seq) => (seq < 2 ? { orgs, totpSecret: 'JBSWY3DPEHPK3PXP' } : {}));
  // An exported row no validate stage checked again would be sent nowhere.
  const exported = { ...userEnvelope(5), issues: [NOT_VALIDATED] };
  const result = await runSink(emulator, [...rows, exported], run, { rate: '4/10s' });
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 0 });
  assert.equal(emulator.requests.length, 0);
  assert.equal(existsSync(run.ledgerPath), false);
  assert.deepEqual(run.lines, [
    `dry run: a run would write to ${emulator.url}\n`,
    'dry run: 5 users to create, 0 to update, 0 to reconcile (left in flight), 0 to complete, 0 unchanged, 1 invalid\n',
    'dry run: 1 organization to resolve, 2 memberships, 2 TOTP factors; at most 10 write calls, about 25 s at 4/10s\n',
  ]);
});

test('a dry run over an existing ledger counts unchanged rows as skipped and changed ones as updates', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, userEnvelopes(3, () => ({ orgs })), run);
  const sent = emulator.requests.length;
  const dry = sinkContext({ dryRun: true }, run.ledgerPath);
  const rows = [userEnvelope(0, { orgs }), userEnvelope(1, { orgs, lastName: 'Changed' }), userEnvelope(2, { orgs }), userEnvelope(3)];
  const result = await runSink(emulator, rows, dry);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 2 });
  assert.equal(emulator.requests.length, sent);
  assert.equal(dry.lines[1], 'dry run: 1 user to create, 1 to update, 0 to reconcile (left in flight), 0 to complete, 2 unchanged, 0 invalid\n');
  assert.match(dry.lines[2] ?? '', /^dry run: 0 organizations to resolve, 0 memberships, 0 TOTP factors; at most 2 write calls/);
});

test('a dry run with no base URL set says a run would write to WorkOS itself', async () => {
  const run = sinkContext({ dryRun: true });
  await runSink(null, userEnvelopes(1), run);
  assert.equal(run.lines[0], 'dry run: a run would write to api.workos.com (WorkOS itself: WORKOS_API_URL is unset)\n');
});
