import assert from 'node:assert/strict';
import { request as httpRequest, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import type { WorkosEmulator } from '../../../emulators/workos/server.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { openLedger } from '../../../state/ledger.ts';
import { accepted, bodyOf, forward, runSink, sdkFor, serve, sinkContext, userEnvelope } from './harness.ts';

const SECRET = 'JBSWY3DPEHPK3PXP';
const OTHER_SECRET = 'KRSXG5CTMVRXEZLU';

/** A server in front of the emulator: every request goes through at once, but the answer to an enrolment comes late. */
function lateEnrolmentAnswers(t: TestContext, emulator: WorkosEmulator): Promise<string> {
  return serve(t, (request, response) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: emulator.port, path: request.url, method: request.method, headers: request.headers }, (answer) => {
      const late = request.method === 'POST' && request.url?.endsWith('/auth_factors') ? 1500 : 0;
      setTimeout(() => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      }, late);
    });
    request.pipe(upstream);
  });
}

/** The error code of the ledger's one failed row (these tests write a single user). */
function failureOfFailedRow(ledgerPath: string): string | undefined {
  const ledger = openLedger(ledgerPath, { readonly: true });
  try {
    return [...ledger.rows({ states: ['failed'] })][0]?.error?.code;
  } finally {
    ledger.close();
  }
}

test('a TOTP secret is enrolled once for its user, named by email, and a changed row does not enrol it again', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET })], run, { totpIssuer: 'Acme' });
  await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET, firstName: 'Renamed' })], run, { totpIssuer: 'Acme' });
  const enrolments = accepted(emulator, 'POST', '/user_management/users/').filter((request) => request.path.endsWith('/auth_factors'));
  assert.deepEqual(
    enrolments.map((request) => request.body),
    [{ type: 'totp', totp_issuer: 'Acme', totp_user: 'user0@example.com', totp_secret: SECRET }],
  );
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

test('a TOTP secret changed in the source since it was enrolled fails the row until the old factor is removed in WorkOS, then is enrolled', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET })], run);
  const user = emulator.store.userByEmail('user0@example.com');
  assert.ok(user);
  const [enrolled] = emulator.store.authFactorsOfUser(user.id);

  for (let rerun = 0; rerun < 2; rerun++) {
    const result = await runSink(emulator, [userEnvelope(0, { totpSecret: OTHER_SECRET })], run);
    assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 }, `rerun ${rerun}`);
    assert.deepEqual(emulator.store.authFactorsOfUser(user.id).map((factor) => factor.totp.secret), [SECRET]);
  }
  assert.equal(failureOfFailedRow(run.ledgerPath), 'totp_secret_changed');

  emulator.store.deleteAuthFactor(enrolled.id);
  const result = await runSink(emulator, [userEnvelope(0, { totpSecret: OTHER_SECRET })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual(emulator.store.authFactorsOfUser(user.id).map((factor) => factor.totp.secret), [OTHER_SECRET]);
});

test('a TOTP secret written in lower case or with spaces is enrolled as WorkOS takes it, and the same secret written so is no change', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { totpSecret: 'jbsw y3dp ehpk 3pxp' })], run);
  const result = await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const enrolments = accepted(emulator, 'POST', '/user_management/users/').filter((request) => request.path.endsWith('/auth_factors'));
  assert.deepEqual(
    enrolments.map((request) => (request.body as { totp_secret: string }).totp_secret),
    [SECRET],
  );
});

test('for a user that was already in WorkOS, an existing TOTP factor is found instead of enrolled twice', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'drop-after=x2' });
  const run = sinkContext();
  // The create lands but its answer is lost; so does the enrolment: both are found by lookup.
  const result = await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.users.size, 1);
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

test('an enrolment whose answer comes after the timeout is not sent again: it is found in the same run, and the row is done', async (t) => {
  const emulator = await emulatorFor(t);
  const baseUrl = await lateEnrolmentAnswers(t, emulator);
  const run = sinkContext();
  const envelopes = [userEnvelope(0, { totpSecret: SECRET })];

  const first = await runSink(null, envelopes, run, { baseUrl, timeout: 1000 });
  assert.deepEqual(first, { written: 1, failed: 0, skipped: 0 });
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
  assert.equal(accepted(emulator, 'POST', `/user_management/users/${user?.id}/auth_factors`).length, 1);

  const second = await runSink(null, envelopes, run, { baseUrl, timeout: 1000 });
  assert.deepEqual(second, { written: 0, failed: 0, skipped: 1 });
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

/** A gateway in front of the emulator that answers every enrolment 504 while the API behind it applies it `laterMs` later. */
async function enrolmentsAppliedAfter504(t: TestContext, emulator: WorkosEmulator, laterMs: number): Promise<{ baseUrl: string; applied: Promise<void>[] }> {
  const applied: Promise<void>[] = [];
  const baseUrl = await serve(t, async (request, response) => {
    const body = await bodyOf(request);
    if (request.method !== 'POST' || !request.url?.endsWith('/auth_factors')) return forward(emulator, request, body, response);
    response.writeHead(504, { 'content-type': 'text/html' }).end('<html><body>504 Gateway Time-out</body></html>');
    applied.push(sleep(laterMs).then(() => forward(emulator, request, body, new ServerResponse(request))));
  });
  return { baseUrl, applied };
}

test('an enrolment a gateway answered 504 while the API behind it applied it soon after is found in the same run, not sent again', async (t) => {
  const emulator = await emulatorFor(t);
  const { baseUrl } = await enrolmentsAppliedAfter504(t, emulator, 500);
  const first = await runSink(null, [userEnvelope(0, { totpSecret: SECRET })], sinkContext(), { baseUrl });
  assert.deepEqual(first, { written: 1, failed: 0, skipped: 0 });
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

test('an enrolment a gateway answered 504 and the API applied only after the lookups is not sent again in the same run: one factor, found by the next run', async (t) => {
  const emulator = await emulatorFor(t);
  const { baseUrl, applied } = await enrolmentsAppliedAfter504(t, emulator, 4500);
  const run = sinkContext();
  const envelopes = [userEnvelope(0, { totpSecret: SECRET })];

  const first = await runSink(null, envelopes, run, { baseUrl });
  assert.deepEqual(first, { written: 0, failed: 1, skipped: 0 });
  await Promise.all(applied);
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);

  const second = await runSink(null, envelopes, run, { baseUrl });
  assert.deepEqual(second, { written: 1, failed: 0, skipped: 0 });
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

test('a secret changed in the source after an enrolment whose answer was lost is not taken for the one WorkOS holds: the row fails totp_secret_changed', async (t) => {
  const emulator = await emulatorFor(t);
  const { baseUrl, applied } = await enrolmentsAppliedAfter504(t, emulator, 4500);
  const run = sinkContext();
  const first = await runSink(null, [userEnvelope(0, { totpSecret: SECRET })], run, { baseUrl });
  assert.deepEqual(first, { written: 0, failed: 1, skipped: 0 });
  await Promise.all(applied);

  const second = await runSink(null, [userEnvelope(0, { totpSecret: OTHER_SECRET })], run, { baseUrl });
  assert.deepEqual(second, { written: 0, failed: 1, skipped: 0 });
  assert.equal(failureOfFailedRow(run.ledgerPath), 'totp_secret_changed');
  const user = emulator.store.userByEmail('user0@example.com');
  assert.equal(emulator.store.authFactorsOfUser(user?.id ?? '').length, 1);
});

test('a factor found in WorkOS stands for the secret the source had then: a secret changed since fails the row totp_secret_changed', async (t) => {
  const emulator = await emulatorFor(t);
  const workos = sdkFor(emulator);
  const user = await workos.userManagement.createUser({ email: 'user0@example.com' });
  await workos.userManagement.enrollAuthFactor({ userId: user.id, type: 'totp', totpSecret: SECRET });
  const run = sinkContext();
  const found = await runSink(emulator, [userEnvelope(0, { totpSecret: SECRET })], run);
  assert.deepEqual(found, { written: 1, failed: 0, skipped: 0 });

  const changed = await runSink(emulator, [userEnvelope(0, { totpSecret: OTHER_SECRET })], run);
  assert.deepEqual(changed, { written: 0, failed: 1, skipped: 0 });
  assert.equal(failureOfFailedRow(run.ledgerPath), 'totp_secret_changed');
  assert.deepEqual(emulator.store.authFactorsOfUser(user.id).map((factor) => factor.totp.secret), [SECRET]);
});
