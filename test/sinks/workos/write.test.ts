import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startWorkosEmulator, type WorkosEmulator } from '../../../emulators/workos/server.ts';
import { openLedger } from '../../../state/ledger.ts';
import { accepted, runSink, sinkContext, userEnvelope, userEnvelopes } from './harness.ts';

let emulator: WorkosEmulator;
before(async () => {
  emulator = await startWorkosEmulator({ writes: null, reads: null });
});
after(() => emulator.close());

test('creates each valid row once with its fields and records it done with its WorkOS id', async () => {
  const run = sinkContext();
  const result = await runSink(emulator, userEnvelopes(20), run);
  assert.deepEqual(result, { written: 20, failed: 0, skipped: 0 });
  assert.equal(accepted(emulator, 'POST', '/user_management/users').length, 20);
  const stored = emulator.store.userByEmail('user7@example.com');
  assert.equal(stored?.external_id, 'ext-7');
  assert.equal(stored?.last_name, 'Number7');
  const ledger = openLedger(run.ledgerPath);
  try {
    const row = [...ledger.rows()].find((candidate) => candidate.key === 'ext:ext-7');
    assert.equal(row?.state, 'done');
    assert.equal(row?.workosUserId, stored?.id);
    assert.equal(row?.payload?.passwordHash, userEnvelope(7).user.passwordHash);
    assert.equal(ledger.status().byState.done, 20);
  } finally {
    ledger.close();
  }
});

test('records a row with error issues as invalid, with its issues and origin, and sends nothing for it', async () => {
  const run = sinkContext();
  const invalid = userEnvelope(1, { email: 'not-an-email' });
  invalid.issues.push({ stage: 'validate', code: 'email.invalid', level: 'error', message: 'not an email address', field: 'email' });
  const before = emulator.requests.length;
  const result = await runSink(emulator, [invalid], run);
  assert.deepEqual(result, { written: 0, failed: 0, skipped: 0 });
  assert.equal(emulator.requests.length, before);
  const ledger = openLedger(run.ledgerPath);
  try {
    const [row] = [...ledger.rows({ states: ['invalid'] })];
    assert.equal(row?.error?.code, 'email.invalid');
    assert.equal(row?.error?.errorClass, 'invalid');
    assert.deepEqual(row?.origin, { file: 'users.csv', line: 3 });
    assert.deepEqual(row?.issues.map((issue) => issue.code), ['email.invalid']);
  } finally {
    ledger.close();
  }
});

test('keeps the run\'s progress counts of rows written, failed and finished current as rows finish', async () => {
  const run = sinkContext();
  // A row WorkOS refuses (an email it cannot take) among good ones.
  const rows = [...userEnvelopes(5).map((row) => ({ ...row, seq: row.seq + 100, key: `ext:progress-${row.seq}`, user: { ...row.user, email: `progress${row.seq}@example.com`, externalId: `progress-${row.seq}` } })), userEnvelope(200, { email: 'not an email' })];
  const result = await runSink(emulator, rows, run);
  assert.deepEqual(result, { written: 5, failed: 1, skipped: 0 });
  assert.deepEqual(run.ctx.runProgress, { written: 5, failed: 1, finished: 6 });
});
