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

test('a user that holds the external id under another email is this user: found by its external id and given the new email', async (t) => {
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
  assert.equal((await sdkFor(emulator).userManagement.getUser(existing.id)).email, userEnvelope(0).user.email);
});

test('a user that was in WorkOS before the migration, found by email, is given the source fields and password hash', async (t) => {
  const emulator = await emulatorFor(t);
  const existing = await sdkFor(emulator).userManagement.createUser({ email: 'USER0@example.com', firstName: 'Pre', metadata: { team: 'blue' } });
  const result = await runSink(emulator, [userEnvelope(0, { metadata: { plan: 'pro' } })], sinkContext());
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const held = emulator.store.users.get(existing.id);
  assert.equal(held?.external_id, 'ext-0');
  assert.equal(held?.first_name, 'User');
  assert.deepEqual(held?.metadata, { team: 'blue', plan: 'pro' });
  const update = emulator.requests.find((request) => request.method === 'PUT' && request.path === `/user_management/users/${existing.id}`);
  assert.equal((update?.body as { password_hash?: string } | undefined)?.password_hash, userEnvelope(0).user.passwordHash);
});

test('an email held by a WorkOS user with another external id is another person: the row fails, and gets no membership', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const other = await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com', externalId: 'someone-else' });
  const result = await runSink(emulator, [userEnvelope(0, { orgs })], run);
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  const ledger = openLedger(run.ledgerPath);
  try {
    const [row] = [...ledger.rows()];
    assert.equal(row?.state, 'failed');
    assert.equal(row?.error?.code, 'identity_conflict');
    assert.match(row?.error?.message ?? '', new RegExp(`email user0@example.com already belongs to WorkOS user ${other.id}, whose external id is "someone-else"`));
  } finally {
    ledger.close();
  }
  assert.equal(emulator.store.users.get(other.id)?.external_id, 'someone-else');
  assert.equal(emulator.store.organizationByExternalId('acme'), undefined);
});
