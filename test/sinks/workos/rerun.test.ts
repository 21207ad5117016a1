import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { openLedger } from '../../../state/ledger.ts';
import { NOT_VALIDATED, SECRET_IN_LEDGER } from '../../../state/replay.ts';
import type { Envelope } from '../../../pipelines/record.ts';
import { requestsAfterLedgerCheck, runSink, sdkFor, sinkContext, userEnvelope, userEnvelopes } from './harness.ts';

const BCRYPT_OTHER = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';

test('a second run over unchanged rows sends no request but the check that the ledger belongs to the server', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const rows = userEnvelopes(10, (seq) => ({ orgs: [{ externalId: `org-${seq % 2}`, name: 'Org', roles: ['member'] }], totpSecret: 'JBSWY3DPEHPK3PXP' }));
  await runSink(emulator, rows, run);
  const sent = emulator.requests.length;
  const result = await runSink(emulator, rows, run);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 10 });
  assert.deepEqual(requestsAfterLedgerCheck(emulator, sent), []);
});

test('a row written back without its password hash, as replay exports it, is unchanged and sends nothing', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const row = userEnvelope(0, { metadata: { plan: 'pro' } });
  await runSink(emulator, [row], run);
  const sent = emulator.requests.length;
  const exported = { ...row.user };
  delete exported.passwordHash;
  const result = await runSink(emulator, [{ ...row, user: exported }], run);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 1 });
  assert.deepEqual(requestsAfterLedgerCheck(emulator, sent), []);
});

test('a row exported from one ledger and written with another, which holds none of its secrets, is sent nowhere and says why', async (t) => {
  const emulator = await emulatorFor(t);
  const exported = userEnvelope(0, { passwordHash: SECRET_IN_LEDGER, totpSecret: SECRET_IN_LEDGER });
  const run = sinkContext();
  const result = await runSink(emulator, [exported], run);
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  assert.equal(emulator.store.users.size, 0);
  assert.ok(
    run.lines.some((line) => line.includes('1 failed (1 permanent secret_not_in_ledger)')),
    run.lines.join(''),
  );
});

test('a changed row is updated with only the fields that changed (all its metadata when a key changed), a new password hash with its type', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { metadata: { plan: 'pro', team: 'a' } }), userEnvelope(1)], run);
  const sent = emulator.requests.length;
  const changed = [userEnvelope(0, { lastName: 'Changed', metadata: { plan: 'pro', region: 'eu' } }), userEnvelope(1, { passwordHash: BCRYPT_OTHER })];
  const result = await runSink(emulator, changed, run);
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  const updates = requestsAfterLedgerCheck(emulator, sent).map(({ method, body }) => ({ method, body }));
  assert.deepEqual(updates, [
    { method: 'PUT', body: { last_name: 'Changed', metadata: { plan: 'pro', region: 'eu', team: null } } },
    { method: 'PUT', body: { password_hash: BCRYPT_OTHER, password_hash_type: 'bcrypt' } },
  ]);
  assert.deepEqual(emulator.store.userByEmail('user0@example.com')?.metadata, { plan: 'pro', region: 'eu' });
  assert.ok(run.lines.some((line) => line.includes('2 written (0 created, 2 updated')));
});

test('a membership added in the source is created on the next run without touching the user', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const acme = { externalId: 'acme', name: 'Acme', roles: ['member'] };
  await runSink(emulator, [userEnvelope(0, { orgs: [acme] })], run);
  const sent = emulator.requests.length;
  const result = await runSink(emulator, [userEnvelope(0, { orgs: [acme, { externalId: 'globex', name: 'Globex', roles: ['admin'] }] })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const paths = requestsAfterLedgerCheck(emulator, sent).map(({ method, path }) => `${method} ${path}`);
  assert.deepEqual(paths, ['GET /organizations/external_id/globex', 'POST /organizations', 'POST /user_management/organization_memberships']);
});

for (const { scenario, before, after, sent } of [
  { scenario: 'changed roles update the existing membership instead of creating another', before: ['member'], after: ['admin'], sent: 'admin' },
  { scenario: 'roles all taken away in the source put the membership back to the default role', before: ['admin'], after: [], sent: 'member' },
]) {
  test(scenario, async (t) => {
    const emulator = await emulatorFor(t);
    const run = sinkContext();
    await runSink(emulator, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: before }] })], run);
    const sentBefore = emulator.requests.length;
    await runSink(emulator, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: after }] })], run);
    const calls = requestsAfterLedgerCheck(emulator, sentBefore).map(({ method, body }) => ({ method, body }));
    assert.deepEqual(calls, [{ method: 'PUT', body: { role_slug: sent } }]);
    const user = emulator.store.userByEmail('user0@example.com');
    assert.deepEqual(emulator.store.membershipsOfUser(user?.id ?? '')[0]?.roles, [{ slug: sent }]);
  });
}

test('an invalid row with the key of a user already written leaves that row as written, and the next run sends nothing', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const ann = userEnvelope(0, { externalId: undefined, email: 'ann@example.com', firstName: 'Ann' });
  const annie = {
    ...userEnvelope(1, { externalId: undefined, email: 'ANN@example.com', firstName: 'Annie' }),
    key: ann.key,
    issues: [{ stage: 'validate', code: 'email.duplicate', level: 'error' as const, message: 'users.csv:3: ann@example.com already appears at users.csv:2' }],
  };
  await runSink(emulator, [ann, annie], run);
  const sent = emulator.requests.length;
  const result = await runSink(emulator, [ann, annie], run);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 1 });
  assert.deepEqual(requestsAfterLedgerCheck(emulator, sent), []);
});

test('a duplicate recorded invalid under its position is gone from the ledger once the source has a valid row there', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const ann = userEnvelope(0, { externalId: undefined, email: 'ann@example.com' });
  const duplicate = {
    ...userEnvelope(1, { externalId: undefined, email: 'ANN@example.com' }),
    key: 'seq:1',
    issues: [{ stage: 'validate', code: 'email.duplicate', level: 'error' as const, message: 'users.csv:3: ann@example.com already appears at users.csv:2' }],
  };
  // Another input's row at the same position, read into the same ledger: not the one fixed.
  const other = { ...duplicate, seq: 2, key: 'seq:2', origin: { file: 'other.csv', line: 4 } };
  await runSink(emulator, [ann, duplicate, other], run);
  const fixed = userEnvelope(1, { externalId: undefined, email: 'anne@example.com' });
  const sameLineOfOtherFile = userEnvelope(2, { externalId: undefined, email: 'cy@example.com' });
  await runSink(emulator, [ann, fixed, sameLineOfOtherFile], run);
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    assert.deepEqual(
      [...ledger.rows()].map((row) => `${row.key} ${row.state}`).sort(),
      ['email:ann@example.com done', 'email:anne@example.com done', 'email:cy@example.com done', 'seq:2 invalid'],
    );
  } finally {
    ledger.close();
  }
});

test('a run says what earlier runs left, rows a stop caught before they were sent included, and sends those', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const row = userEnvelope(1);
  const ledger = openLedger(run.ledgerPath);
  await ledger.claim({ key: row.key, seq: row.seq, origin: row.origin, payload: JSON.stringify(row.user), payloadHash: 'earlier', issues: [], pendingUpdate: null });
  ledger.rowReleased(row.key);
  ledger.close();
  const result = await runSink(emulator, [row], run);
  assert.ok(run.lines.includes('workos: the ledger holds 1 row from earlier runs: 0 done (skipped when unchanged), 1 stopped before they were sent (sent when they come again)\n'), run.lines.join(''));
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
});

test('a changed row whose WorkOS user was deleted since is created again, with its memberships and factor, instead of failing for good', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const orgs = [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }];
  const totpSecret = 'JBSWY3DPEHPK3PXP';
  await runSink(emulator, [userEnvelope(0, { orgs, totpSecret }), userEnvelope(1)], run);
  const gone = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  await sdkFor(emulator).userManagement.deleteUser(gone);

  const result = await runSink(emulator, [userEnvelope(0, { orgs, totpSecret, firstName: 'Renamed' }), userEnvelope(1)], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 1 });
  const again = emulator.store.userByEmail('user0@example.com');
  assert.notEqual(again?.id, gone);
  assert.equal(again?.first_name, 'Renamed');
  assert.deepEqual(emulator.store.membershipsOfUser(again?.id ?? '').map((membership) => membership.roles.map((role) => role.slug)), [['admin']]);
  assert.equal(emulator.store.authFactorsOfUser(again?.id ?? '').length, 1);
  assert.equal(emulator.store.users.size, 2);
});

test('a row whose WorkOS user was deleted since and whose source only adds an organization is created again with every membership', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const acme = { externalId: 'acme', name: 'Acme', roles: ['admin'] };
  const globex = { externalId: 'globex', name: 'Globex', roles: ['member'] };
  await runSink(emulator, [userEnvelope(0, { orgs: [acme] }), userEnvelope(1)], run);
  const gone = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  await sdkFor(emulator).userManagement.deleteUser(gone);

  const result = await runSink(emulator, [userEnvelope(0, { orgs: [acme, globex] }), userEnvelope(1)], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 1 });
  const again = emulator.store.userByEmail('user0@example.com');
  assert.notEqual(again?.id, gone);
  const orgIds = emulator.store.membershipsOfUser(again?.id ?? '').map((membership) => membership.organization_id);
  assert.deepEqual(orgIds.sort(), [emulator.store.organizationByExternalId('acme')?.id, emulator.store.organizationByExternalId('globex')?.id].sort());
});

test('a server that holds the users the ledger wrote last but none it wrote first lost users since: the run says so and how to find them', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'latency=20' });
  const run = sinkContext();
  // Rows with memberships are done after the others, those with three the latest: the first rows of the input are
  // neither the last done nor the first done, and are the ones lost.
  const org = (name: string) => ({ externalId: name, name, roles: ['member'] });
  const rows = userEnvelopes(8, (seq) => (seq < 3 ? { orgs: [org('acme')] } : seq >= 5 ? { orgs: [org('acme'), org('globex'), org('initech')] } : {}));
  await runSink(emulator, rows, run);
  for (const seq of [0, 1, 2]) await sdkFor(emulator).userManagement.deleteUser(emulator.store.userByEmail(`user${seq}@example.com`)?.id ?? '');

  const again = sinkContext({}, run.ledgerPath);
  await runSink(emulator, rows, again);
  assert.match(again.lines.join(''), /warning: workos: http:\/\/127\.0\.0\.1:\d+ holds the users the ledger \S+ wrote last, but none of the first 3 .*`authpipe diff --ledger \S+` finds every one missing/);
});

test('rows of one user sharing a key (a row per organization) keep an invalid one in the ledger at its position, before or after the valid ones', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const invalid = (envelope: Envelope): Envelope => ({
    ...envelope,
    issues: [{ stage: 'map', code: 'email_verified.invalid', level: 'error', message: 'users.csv: email_verified "maybe" is not true or false' }],
  });
  const acme = [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }];
  const globex = [{ externalId: 'globex', name: 'Globex', roles: ['member'] }];
  const rows = [
    invalid({ ...userEnvelope(0, { orgs: acme }), seq: 0 }),
    { ...userEnvelope(0, { orgs: globex }), seq: 1 },
    { ...userEnvelope(1, { orgs: globex }), seq: 2 },
    invalid({ ...userEnvelope(1, { orgs: acme }), seq: 3 }),
  ];
  const result = await runSink(emulator, rows, run);
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    assert.deepEqual(
      [...ledger.rows()].map((row) => [row.key, row.seq, row.state]).sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        ['seq:0', 0, 'invalid'],
        ['ext:ext-0', 1, 'done'],
        ['ext:ext-1', 2, 'done'],
        ['seq:3', 3, 'invalid'],
      ],
    );
  } finally {
    ledger.close();
  }
});

function recordedRows(ledgerPath: string): [string, string][] {
  const ledger = openLedger(ledgerPath, { readonly: true });
  try {
    return [...ledger.rows()].map((row) => [row.key, row.state]);
  } finally {
    ledger.close();
  }
}

test('a user the source gives an external id since an earlier run is found, given the id, and its email-keyed record is retired', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const acme = { externalId: 'acme', name: 'Acme', roles: ['member'] };
  const withoutId = { externalId: undefined, orgs: [acme], totpSecret: 'JBSWY3DPEHPK3PXP' };
  await runSink(emulator, [userEnvelope(0, withoutId)], run);

  const result = await runSink(emulator, [userEnvelope(0, { ...withoutId, externalId: 'dora-4' })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual([...emulator.store.users.values()].map((user) => [user.email, user.external_id]), [['user0@example.com', 'dora-4']]);
  assert.deepEqual(recordedRows(run.ledgerPath), [['ext:dora-4', 'done']]);
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    assert.equal(ledger.membership('ext:dora-4', 'ext:acme')?.state, 'done');
    assert.equal(ledger.factor('ext:dora-4')?.state, 'done');
    assert.equal(ledger.membership('email:user0@example.com', 'ext:acme'), undefined);
  } finally {
    ledger.close();
  }
  const unchanged = await runSink(emulator, [userEnvelope(0, { ...withoutId, externalId: 'dora-4' })], run);
  assert.deepEqual(unchanged, { written: 0, failed: 0, skipped: 1 });
});

test('an external id given to a user found by email that holds another one is an identity conflict, and the earlier record stays', async (t) => {
  const emulator = await emulatorFor(t);
  await sdkFor(emulator).userManagement.createUser({ email: 'a@example.com', externalId: 'Y' });
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { externalId: undefined, email: 'a@example.com' })], run);
  const result = await runSink(emulator, [userEnvelope(0, { externalId: 'X', email: 'a@example.com' })], run);
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  assert.deepEqual([...emulator.store.users.values()].map((user) => user.external_id), ['Y']);
  assert.deepEqual(recordedRows(run.ledgerPath), [['email:a@example.com', 'done'], ['ext:X', 'failed']]);
});

test('a row still keyed by its email, written in the same run as a row with that email and an external id, keeps its record', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { externalId: undefined, email: 'a@example.com' })], run);
  const rows = [userEnvelope(0, { externalId: undefined, email: 'a@example.com', lastName: 'Changed' }), userEnvelope(1, { externalId: 'X', email: 'a@example.com' })];
  await runSink(emulator, rows, run);
  assert.deepEqual(recordedRows(run.ledgerPath), [['email:a@example.com', 'done'], ['ext:X', 'done']]);
  assert.deepEqual(await runSink(emulator, rows, run), { written: 0, failed: 0, skipped: 2 });
});

test('an exported row still invalid, written back without validate, is counted once, as invalid, not also as failed', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const error = { stage: 'validate', code: 'email.invalid', level: 'error', message: 'users.csv:2: bad email' } as const;
  const result = await runSink(emulator, [{ ...userEnvelope(0), issues: [error, NOT_VALIDATED] }], run);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 0 });
  assert.deepEqual(emulator.requests.filter((request) => request.method !== 'GET'), []);
});
