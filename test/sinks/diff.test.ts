// The diff after an import: what it finds when WorkOS holds everything the ledger sent, and each kind of difference
// when WorkOS was changed behind the import's back.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runDiff } from '../../sinks/diff.ts';
import { openLedger } from '../../state/ledger.ts';
import { readingApi, workosSink } from '../../sinks/workos.ts';
import { diffLedger, emptyDiffCounts, hasDifferences, type Difference } from '../../sinks/workos/diff.ts';
import { emulatorFor } from '../emulators/workos/harness.ts';
import type { WorkosEmulator } from '../../emulators/workos/server.ts';
import { API_KEY, BCRYPT_HASH, bodyOf, busiestWindow, forward, mixedRows, runSink, sdkFor, serve, sinkContext, userEnvelope, userEnvelopes } from './workos/harness.ts';

const connectionTo = (emulator: WorkosEmulator) => workosSink.options.parse({ apiKey: API_KEY, baseUrl: emulator.url, retries: 0 });

test('after a clean import the diff reads every WorkOS user, page after page, and finds every user, membership and factor as sent', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  // 250 rows: three pages of users; memberships in twenty organizations; every twentieth row with a factor.
  const rows = mixedRows(250);
  const result = await runSink(emulator, rows, run);
  assert.deepEqual(result, { written: 247, failed: 0, skipped: 0 });

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.equal(counts.workosUsers, 247);
  assert.deepEqual([counts.expected, counts.landed, counts.missing, counts.mismatched, counts.invalid, counts.unknown], [247, 247, 0, 0, 3, 0]);
  assert.deepEqual(counts.memberships, { expected: 50, missing: 0, otherRoles: 0, notInSource: 0 });
  assert.deepEqual(counts.factors, { expected: 13, missing: 0, otherSecret: 0, extra: 0 });
  assert.equal(hasDifferences(counts), false);
  assert.equal(readFileSync(report, 'utf8'), '');
  assert.match(run.lines.join(''), /diff: every user, membership and factor of the ledger is in WorkOS as sent/);
});

test('a user deleted, renamed or given other metadata, a membership removed or given another role, a factor removed: each is found and named, and WorkOS users of no row are listed', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const org = { externalId: 'acme', name: 'Acme', roles: ['admin'] };
  const rows = [
    userEnvelope(0, { metadata: { plan: 'pro' } }),
    userEnvelope(1, { orgs: [org] }),
    userEnvelope(2, { orgs: [org] }),
    userEnvelope(3, { totpSecret: 'JBSWY3DPEHPK3PXP' }),
    userEnvelope(4),
  ];
  await runSink(emulator, rows, run);
  const workos = sdkFor(emulator);
  const idOf = (seq: number) => emulator.store.userByEmail(`user${seq}@example.com`)?.id ?? '';
  await workos.userManagement.updateUser({ userId: idOf(0), firstName: 'Renamed', metadata: { plan: 'free' } });
  const [membership1] = emulator.store.membershipsOfUser(idOf(1));
  const [membership2] = emulator.store.membershipsOfUser(idOf(2));
  await workos.userManagement.deleteOrganizationMembership(membership1?.id ?? '');
  await workos.userManagement.updateOrganizationMembership(membership2?.id ?? '', { roleSlug: 'member' });
  const [factor] = emulator.store.authFactorsOfUser(idOf(3));
  emulator.store.deleteAuthFactor(factor?.id ?? '');
  const deletedId = idOf(4);
  await workos.userManagement.deleteUser(deletedId);
  const stranger = await workos.userManagement.createUser({ email: 'stranger@example.com' });

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.deepEqual([counts.expected, counts.landed, counts.missing, counts.mismatched, counts.unknown], [5, 3, 1, 1, 1]);
  assert.deepEqual(counts.mismatchedFields, { firstName: 1, metadata: 1 });
  assert.deepEqual(counts.memberships, { expected: 2, missing: 1, otherRoles: 1, notInSource: 0 });
  assert.deepEqual(counts.factors, { expected: 1, missing: 1, otherSecret: 0, extra: 0 });
  assert.equal(hasDifferences(counts), true);

  const differences = readFileSync(report, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Difference);
  assert.deepEqual(differences, [
    { kind: 'user_mismatched', key: 'ext:ext-0', email: 'user0@example.com', state: 'done', workosUserId: idOf(0), fields: [
      { field: 'firstName', ledger: 'User', workos: 'Renamed' },
      { field: 'metadata', ledger: { plan: 'pro' }, workos: { plan: 'free' } },
    ] },
    { kind: 'membership_missing', key: 'ext:ext-1', org: 'ext:acme', roles: ['admin'], workosUserId: idOf(1), workosOrgId: emulator.store.organizationByExternalId('acme')?.id ?? '' },
    { kind: 'membership_roles', key: 'ext:ext-2', org: 'ext:acme', roles: ['admin'], workosRoles: ['member'] },
    { kind: 'factor_missing', key: 'ext:ext-3', workosUserId: idOf(3) },
    { kind: 'user_missing', key: 'ext:ext-4', email: 'user4@example.com', state: 'done', workosUserId: deletedId },
    { kind: 'user_unknown', workosUserId: stranger.id, email: 'stranger@example.com' },
  ]);
  // The report holds emails and names: its owner's alone, and never a password hash.
  assert.equal(statSync(report).mode & 0o777, 0o600);
  assert.doesNotMatch(readFileSync(report, 'utf8'), new RegExp(BCRYPT_HASH.slice(0, 20).replace(/\$/g, '\\$')));
  const said = run.lines.join('');
  assert.match(said, /diff: 5 users of the ledger looked for at http:\/\/127\.0\.0\.1:\d+: 3 in WorkOS as sent, 1 missing, 1 with other values \(firstName 1, metadata 1\)/);
  assert.match(said, /ext:ext-4: not in WorkOS \(ledger: done\)/);
  assert.match(said, new RegExp(`every one is in ${report}`));

  // The ledger has each of those rows as failed/retryable now: the next run sends what WorkOS lacks, and nothing else.
  const rerun = sinkContext({}, run.ledgerPath);
  const result = await runSink(emulator, rows, rerun);
  assert.deepEqual(result, { written: 5, failed: 0, skipped: 0 });
  assert.match(rerun.lines.join(''), /workos: 5 written \(1 created, 1 updated, 0 already in WorkOS, 3 completed\)/);
  const proof = await runDiff(run.ledgerPath, connectionTo(emulator), undefined, rerun.ctx);
  assert.equal(hasDifferences(proof), false);
  assert.deepEqual([proof.landed, proof.unknown, proof.memberships.expected, proof.factors.expected], [5, 1, 2, 1]);
  assert.equal(emulator.store.authFactorsOfUser(idOf(3)).length, 1);
});

test('a row whose create failed is looked for by its email: in WorkOS (made by hand since) it counts as landed, not there it is missing with its state', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const refused = { passwordHash: 'not a bcrypt hash' };
  await runSink(emulator, [userEnvelope(0, refused), userEnvelope(1, refused)], run);
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  const states = [...ledger.rows()].map((row) => [row.key, row.state, row.workosUserId]);
  ledger.close();
  assert.deepEqual(states, [
    ['ext:ext-0', 'failed', null],
    ['ext:ext-1', 'failed', null],
  ]);
  await sdkFor(emulator).userManagement.createUser({ email: 'USER0@example.com', firstName: 'User', lastName: 'Number0', externalId: 'ext-0' });

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.deepEqual([counts.expected, counts.landed, counts.missing, counts.unknown], [2, 1, 1, 0]);
  assert.deepEqual(JSON.parse(readFileSync(report, 'utf8')), { kind: 'user_missing', key: 'ext:ext-1', email: 'user1@example.com', state: 'failed', workosUserId: null });
  // Not made to be sent again by the diff (it had failed already): people are pointed to its own failure.
  assert.deepEqual([counts.resent, counts.unsettled], [0, 1]);
  assert.match(run.lines.join(''), /1 row had failed or not finished already: `authpipe ledger rows --ledger \S+ --state failed,in_flight,pending` says why/);
});

test('against a server that holds none of the users the ledger wrote last (the wrong environment), the diff refuses before recording anything', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0), userEnvelope(1)], run);
  const empty = await emulatorFor(t);
  await assert.rejects(runDiff(run.ledgerPath, connectionTo(empty), undefined, run.ctx), {
    code: 'diff.ledger_elsewhere',
    message: /has none of the users the ledger .* wrote last: it is not the WorkOS its runs wrote to .*nothing was compared or recorded$/,
  });
  const ledger = openLedger(run.ledgerPath, { readonly: true });
  const rows = [...ledger.rows()].map((row) => [row.state, row.workosUserId !== null]);
  ledger.close();
  assert.deepEqual(rows, [
    ['done', true],
    ['done', true],
  ]);
});

test('only what a row sent is compared: a user that was in WorkOS before keeps its own names and metadata keys, with no difference and nothing recorded', async (t) => {
  const emulator = await emulatorFor(t);
  await sdkFor(emulator).userManagement.createUser({ email: 'user0@example.com', firstName: 'Pre', lastName: 'Existing', metadata: { legacy: 'keep' } });
  const run = sinkContext();
  // The source has no names for the user, and one metadata key.
  await runSink(emulator, [userEnvelope(0, { firstName: undefined, lastName: '', metadata: { plan: 'gold' } })], run);
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), undefined, run.ctx);
  assert.deepEqual([counts.landed, counts.mismatched, hasDifferences(counts)], [1, 0, false]);
  assert.deepEqual(emulator.store.userByEmail('user0@example.com')?.metadata, { legacy: 'keep', plan: 'gold' });
});

test('the memberships expected are those a row asks for now: one its source dropped is named while WorkOS still has it, and is no difference', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const acme = { externalId: 'acme', name: 'Acme', roles: ['admin'] };
  const globex = { externalId: 'globex', name: 'Globex', roles: ['member'] };
  await runSink(emulator, [userEnvelope(0, { orgs: [acme, globex] })], run);
  await runSink(emulator, [userEnvelope(0, { orgs: [globex] })], sinkContext({}, run.ledgerPath));
  const userId = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  const acmeId = emulator.store.organizationByExternalId('acme')?.id ?? '';

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.deepEqual(counts.memberships, { expected: 1, missing: 0, otherRoles: 0, notInSource: 1 });
  assert.equal(hasDifferences(counts), false);
  assert.equal(counts.resent, 0);
  assert.deepEqual(JSON.parse(readFileSync(report, 'utf8')), { kind: 'membership_not_in_source', key: 'ext:ext-0', org: 'ext:acme', workosUserId: userId, workosOrgId: acmeId });
  assert.match(run.lines.join(''), /1 the source no longer names are still in WorkOS, left as they are/);

  await sdkFor(emulator).userManagement.deleteOrganizationMembership(emulator.store.membershipOf(userId, acmeId)?.id ?? '');
  const removed = await runDiff(run.ledgerPath, connectionTo(emulator), undefined, run.ctx);
  assert.deepEqual(removed.memberships, { expected: 1, missing: 0, otherRoles: 0, notInSource: 0 });
  assert.equal(hasDifferences(removed), false);
});

test('a factor WorkOS holds for an earlier secret of the source is a difference, though the row failed for it: the new secret is not in WorkOS', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { totpSecret: 'JBSWY3DPEHPK3PXP' })], run);
  const changed = await runSink(emulator, [userEnvelope(0, { totpSecret: 'KRSXG5CTMVRXEZLU' })], run);
  assert.deepEqual(changed, { written: 0, failed: 1, skipped: 0 });

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.deepEqual(counts.factors, { expected: 1, missing: 0, otherSecret: 1, extra: 0 });
  assert.equal(hasDifferences(counts), true);
  const userId = emulator.store.userByEmail('user0@example.com')?.id;
  assert.deepEqual(JSON.parse(readFileSync(report, 'utf8')), { kind: 'factor_other_secret', key: 'ext:ext-0', workosUserId: userId });
  assert.match(run.lines.join(''), /TOTP factors 0 of 1 \(1 with an earlier secret\)/);
});

test('a user with a second TOTP factor (an enrolment a server applied after the writer gave up on it) is a difference naming both, and which to keep', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { totpSecret: 'JBSWY3DPEHPK3PXP' })], run);
  const userId = emulator.store.userByEmail('user0@example.com')?.id ?? '';
  const [kept] = emulator.store.authFactorsOfUser(userId);
  const { authenticationFactor: second } = await sdkFor(emulator).userManagement.enrollAuthFactor({ userId, type: 'totp', totpSecret: 'JBSWY3DPEHPK3PXP' });

  const report = path.join(path.dirname(run.ledgerPath), 'report.ndjson');
  const counts = await runDiff(run.ledgerPath, connectionTo(emulator), report, run.ctx);
  assert.deepEqual(counts.factors, { expected: 1, missing: 0, otherSecret: 0, extra: 1 });
  assert.equal(hasDifferences(counts), true);
  // Nothing the writer sends would remove one: the row stays done, and no message says it will be sent again.
  assert.deepEqual([counts.resent, counts.unsettled], [0, 0]);
  const found = JSON.parse(readFileSync(report, 'utf8')) as Extract<Difference, { kind: 'factors_extra' }>;
  assert.deepEqual({ ...found, workosFactorIds: [...found.workosFactorIds].sort() }, { kind: 'factors_extra', key: 'ext:ext-0', workosUserId: userId, workosFactorIds: [kept?.id, second.id].sort(), ledgerFactorId: kept?.id });
  assert.match(run.lines.join(''), /TOTP factors 1 of 1; 1 user with more than one/);
  const listed = found.workosFactorIds.join(', ');
  assert.ok(run.lines.join('').includes(`ext:ext-0: 2 TOTP factors in WorkOS (${listed}), each of which lets its holder in: keep ${kept?.id}, the one the ledger recorded, and remove the others in WorkOS`), run.lines.join(''));
});

test('a diff right after a run spends what is left of the read budget the run used: no window holds more reads than it allows', async (t) => {
  const emulator = await emulatorFor(t);
  const workos = sdkFor(emulator);
  const secret = 'JBSWY3DPEHPK3PXP';
  const rows = Array.from({ length: 15 }, (_, seq) => userEnvelope(seq, { totpSecret: secret }));
  // Users already in WorkOS: each row reads to find its user and its factor, so the run ends with its budget spent.
  for (const { user } of rows) {
    const created = await workos.userManagement.createUser({ email: user.email ?? '', externalId: user.externalId });
    await workos.userManagement.enrollAuthFactor({ userId: created.id, type: 'totp', totpSecret: secret });
  }
  const from = emulator.requests.length;
  const run = sinkContext();
  await runSink(emulator, rows, run, { readRate: '20/2s' });
  const counts = await runDiff(run.ledgerPath, workosSink.options.parse({ apiKey: API_KEY, baseUrl: emulator.url, readRate: '20/2s' }), undefined, run.ctx);
  assert.equal(hasDifferences(counts), false);
  const reads = emulator.requests.slice(from).filter((request) => request.method === 'GET');
  assert.ok(reads.length > 40, `${reads.length} reads`);
  const busiest = busiestWindow(reads.map((request) => request.at), 2000);
  assert.ok(busiest <= 20, `a 2 s window held ${busiest} reads`);
});

test('a long diff says how far it is while it reads WorkOS and while it compares the ledger', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, userEnvelopes(150), run);
  const ledger = openLedger(run.ledgerPath);
  const reading = await readingApi(connectionTo(emulator), ledger, run.ctx);
  const steps: string[] = [];
  try {
    const counts = emptyDiffCounts();
    for await (const difference of diffLedger(reading.api, ledger, counts, { onStep: (message) => steps.push(message), everyMs: 0 })) assert.fail(JSON.stringify(difference));
  } finally {
    reading.close();
    ledger.close();
  }
  assert.deepEqual(steps.slice(0, 3), ['diff: read 100 WorkOS users so far', 'diff: read 150 WorkOS users so far', 'diff: read 150 WorkOS users']);
  assert.deepEqual(steps.slice(3, 5), ["diff: compared 0 of the ledger's 150 rows", "diff: compared 1 of the ledger's 150 rows"]);
  assert.equal(steps.length, 3 + 150);
});

test('a deactivated membership is missing, also on a server that lists every status when asked for none', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  await runSink(emulator, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: ['admin'] }] })], run);
  const [membership] = emulator.store.membershipsOfUser(emulator.store.userByEmail('user0@example.com')?.id ?? '');
  await sdkFor(emulator).userManagement.deactivateOrganizationMembership(membership?.id ?? '');
  const baseUrl = await serve(t, (request, response) => {
    void bodyOf(request).then((body) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname === '/user_management/organization_memberships' && !url.searchParams.has('statuses')) url.searchParams.set('statuses', 'active,inactive,pending');
      return forward(emulator, request, body, response, `${url.pathname}${url.search}`);
    });
  });
  const counts = await runDiff(run.ledgerPath, workosSink.options.parse({ apiKey: API_KEY, baseUrl, retries: 0 }), undefined, run.ctx);
  assert.deepEqual(counts.memberships, { expected: 1, missing: 1, otherRoles: 0, notInSource: 0 });
});
