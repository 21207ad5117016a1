import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWorkosEmulator } from '../../../emulators/workos/server.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { openLedger } from '../../../state/ledger.ts';
import { runSink, sdkFor, sinkContext, userEnvelope } from './harness.ts';

const orgs = [{ externalId: 'acme', name: 'Acme', roles: ['member'] }];

for (const [server, faults, answer] of [
  ['a current server', undefined, 400],
  ['a server that answers duplicates with the legacy 409', 'legacy-409', 409],
] as const) {
  test(`with ${server}, a user already in WorkOS is recorded with its id and still gets its memberships`, async () => {
    const emulator = await startWorkosEmulator({ writes: null, reads: null, faults });
    const run = sinkContext();
    try {
      const existing = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com' });
      const result = await runSink(emulator, [userEnvelope(0, { orgs })], run);
      assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
      assert.equal(emulator.requests.find((request) => request.method === 'POST' && request.path === '/user_management/users' && request.body !== undefined && (request.body as { external_id?: string }).external_id === 'ext-0')?.status, answer);
      assert.equal(emulator.store.users.size, 1);
      const acme = emulator.store.organizationByExternalId('acme');
      assert.ok(acme && emulator.store.membershipOf(existing.id, acme.id));
      const ledger = openLedger(run.ledgerPath);
      try {
        const [row] = [...ledger.rows()];
        assert.equal(row?.state, 'done');
        assert.equal(row?.workosUserId, existing.id);
      } finally {
        ledger.close();
      }
      assert.ok(run.lines.some((line) => line.includes('1 written (0 created, 0 updated, 1 already in WorkOS, 0 completed)')));
    } finally {
      await emulator.close();
    }
  });
}

test('a user that holds the external id under another email is found by its external id', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'old-address@example.com', externalId: 'ext-0' });
  const result = await runSink(emulator, [userEnvelope(0)], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const ledger = openLedger(run.ledgerPath);
  try {
    assert.equal([...ledger.rows()][0]?.workosUserId, existing.id);
  } finally {
    ledger.close();
  }
});
