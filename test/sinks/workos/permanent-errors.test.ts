import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { openLedger } from '../../../state/ledger.ts';
import { accepted, runSink, serve, sinkContext, userEnvelope } from './harness.ts';

test('a row WorkOS refuses is failed/permanent at once with its code and message, and the other rows go on', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const refused = userEnvelope(1, { passwordHash: '$2a$10$tooShort' });
  const result = await runSink(emulator, [userEnvelope(0), refused, userEnvelope(2)], run);
  assert.deepEqual(result, { written: 2, failed: 1, skipped: 0 });
  assert.equal(accepted(emulator, 'POST', '/user_management/users').length, 3);
  const ledger = openLedger(run.ledgerPath);
  try {
    const [row] = [...ledger.rows({ states: ['failed'] })];
    assert.equal(row?.key, refused.key);
    assert.deepEqual(row?.error, { errorClass: 'permanent', code: 'invalid_password_hash', message: 'password_hash is not a well-formed bcrypt hash.' });
    assert.equal(ledger.status().byErrorClass.permanent, 1);
  } finally {
    ledger.close();
  }
  assert.ok(run.lines.some((line) => line.includes('1 failed (1 permanent invalid_password_hash)')));
  assert.ok(run.lines.every((line) => !line.includes('$2a$10$')));
});

test('several roles where the environment allows one fail that membership permanently, naming the fix', async (t) => {
  const emulator = await emulatorFor(t, { multipleRoles: false });
  const run = sinkContext();
  const orgs = [
    { externalId: 'acme', name: 'Acme', roles: ['admin', 'billing'] },
    { externalId: 'globex', name: 'Globex', roles: ['member'] },
  ];
  const result = await runSink(emulator, [userEnvelope(0, { orgs })], run);
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  const ledger = openLedger(run.ledgerPath);
  try {
    const [row] = [...ledger.rows()];
    assert.equal(row?.error?.errorClass, 'permanent');
    assert.equal(row?.error?.code, 'multiple_roles_not_enabled');
    assert.match(row?.error?.message ?? '', /"acme".*enable them .* or map the user to one role/);
    assert.equal(ledger.membership(row?.key ?? '', 'ext:globex')?.state, 'done');
  } finally {
    ledger.close();
  }
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.membershipsOfUser(user?.id ?? '').length, 1);
});

test("a server message echoing the row's own password hash (ssha, without a $...$ prefix) is stored without it", async (t) => {
  const hash = 'e1NTSEF9dGVzdGluZ3NzaGFoYXNoMTIzNDU2Nzg=';
  const baseUrl = await serve(t, (request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const sent = (body === '' ? {} : JSON.parse(body)) as { password_hash?: string };
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ code: 'invalid_request', message: `password_hash ${sent.password_hash ?? ''} cannot be read` }));
    });
  });
  const run = sinkContext();
  const result = await runSink(null, [userEnvelope(0, { passwordHash: hash, passwordHashType: 'ssha' })], run, { baseUrl });
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    const [row] = [...ledger.rows({ states: ['failed'] })];
    assert.equal(row?.error?.message, 'password_hash [password hash] cannot be read');
  } finally {
    ledger.close();
  }
});

test('a 403 (a key without the permission) stops the run at its first answer, leaving the rows for the next run', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=403:1' });
  const run = sinkContext();
  await assert.rejects(runSink(emulator, Array.from({ length: 50 }, (_, seq) => userEnvelope(seq)), run, { concurrency: 1 }), {
    code: 'workos.forbidden',
    message: /403 Forbidden/,
  });
  assert.equal(emulator.requests.length, 1);
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  try {
    assert.equal(ledger.status().byState.failed, 0);
  } finally {
    ledger.close();
  }

  emulator.faults.clear();
  assert.deepEqual(await runSink(emulator, Array.from({ length: 50 }, (_, seq) => userEnvelope(seq)), run), { written: 50, failed: 0, skipped: 0 });
});
