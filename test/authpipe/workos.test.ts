// The import as a user drives it from the shell: run a pipeline into a WorkOS server, look into the ledger,
// replay what failed, export what WorkOS refused, fix it by hand and write it back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { emulatorFor } from '../emulators/workos/harness.ts';
import type { Envelope } from '../../pipelines/record.ts';
import { openLedger, type LedgerStatus } from '../../state/ledger.ts';
import { bodyOf, forward, requestsAfterLedgerCheck, serve } from '../sinks/workos/harness.ts';
import { tempDir } from '../sources/context.ts';
import { bin, root, runChain, runCli } from './cli.ts';

const BCRYPT_HASH = '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

function envelopeLine(seq: number, metadata: Record<string, string> = {}): string {
  const user = { email: `user${seq}@example.com`, externalId: `u${seq}`, passwordHash: BCRYPT_HASH, passwordHashType: 'bcrypt', metadata };
  return JSON.stringify({ seq, key: `ext:u${seq}`, origin: { file: 'users.ndjson', line: seq }, user, issues: [] });
}

async function ledgerStatus(ledger: string): Promise<LedgerStatus> {
  const result = await runCli(['ledger', 'status', '--ledger', ledger, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as LedgerStatus;
}

test('the Clerk pipeline imports users, organizations and factors, says where each user went, and sends nothing on a second run but the ledger check', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'clerk.db');
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  const first = await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger, '--quiet'], { env });
  assert.equal(first.code, 3, first.stderr);
  assert.equal(statSync(ledger).mode & 0o777, 0o600);
  assert.equal(emulator.store.users.size, 17);
  assert.equal(emulator.store.organizations.size, 4);

  const status = await ledgerStatus(ledger);
  assert.deepEqual(status.byState, { pending: 0, in_flight: 0, done: 17, failed: 0, invalid: 4, skipped: 0 });
  assert.deepEqual(status.memberships, { done: 7, failed: 0 });

  const exported = await runCli(['ledger', 'export', '--ledger', ledger]);
  assert.equal(exported.code, 0, exported.stderr);
  const [header, ...lines] = exported.stdout.trim().split('\n');
  assert.equal(header, 'key,email,external_id,workos_user_id,state');
  const done = lines.map((line) => line.split(',')).filter((cells) => cells[4] === 'done');
  assert.equal(done.length, 17);
  for (const [, email, externalId, userId] of done) {
    const user = emulator.store.users.get(userId ?? '');
    assert.deepEqual([user?.email, user?.external_id], [email?.toLowerCase(), externalId]);
  }

  const requestsBefore = emulator.requests.length;
  const second = await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger], { env });
  assert.equal(second.code, 3, second.stderr);
  assert.deepEqual(requestsAfterLedgerCheck(emulator, requestsBefore), []);
  assert.match(second.stderr, /^ {2}skipped {3}17$/m);
  assert.match(second.stderr, /^workos: the ledger holds 21 rows from earlier runs: 17 done \(skipped when unchanged\), 4 invalid$/m);
});

test('every invalid row the summary counts is in the ledger, a second row with a taken external id too', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  writeFileSync(path.join(dir, 'users.csv'), 'email,id\nana@example.com,u1\nbo@example.com,u2\ncy@example.com,u1\nANA@example.com,u3\n');
  const pipeline = path.join(dir, 'dup.yaml');
  writeFileSync(
    pipeline,
    'version: 1\nname: dup\nsource: { use: csv, path: users.csv }\nstages:\n  - { use: map, fields: { email: email, externalId: id } }\n  - { use: validate }\nsink: { use: workos }\nledger: dup.db\n',
  );
  const result = await runCli(['run', pipeline, '--json'], { env: { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' } });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /"invalid":\{"rows":2,/);
  const status = await ledgerStatus(path.join(dir, 'dup.db'));
  assert.deepEqual({ done: status.byState.done, invalid: status.byState.invalid }, { done: 2, invalid: 2 });
  const exported = await runCli(['replay', '--ledger', path.join(dir, 'dup.db'), '--class', 'invalid', '--export']);
  assert.deepEqual(
    exported.stdout.trim().split('\n').map((line) => (JSON.parse(line) as Envelope).origin.line),
    [4, 5],
  );
});

test('replay leaves the rows validation kept out as they are, sending none; exported, fixed and validated, they are written', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  const ledger = path.join(dir, 'invalid.db');
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  const input = [envelopeLine(1), envelopeLine(2).replace('user2@example.com', 'user2@@example.com')].join('\n');
  const first = await runChain(`authpipe validate | authpipe write workos --ledger '${ledger}' --quiet`, { env, input });
  assert.equal(first.code, 3, first.stderr);
  const sentBefore = emulator.requests.length;

  for (const replayClass of ['invalid', 'all']) {
    const replay = await runCli(['replay', '--ledger', ledger, '--class', replayClass], { env });
    assert.equal(replay.code, 3, replay.stderr);
    assert.match(replay.stderr, /users\.ndjson:2: email "user2@@example\.com" is not a valid address.*\[email\.invalid\]/);
    assert.match(replay.stderr, /1 row kept out by validation stay invalid as they are: export them/);
  }
  assert.deepEqual(emulator.requests.slice(sentBefore).filter((request) => request.method !== 'GET'), []);
  assert.equal((await ledgerStatus(ledger)).byState.invalid, 1);

  // Exported, the row is still invalid (exit 3), its errors kept; written back unfixed it would stay out.
  const exported = path.join(dir, 'invalid.ndjson');
  const exporting = await runChain(`authpipe replay --ledger '${ledger}' --class invalid --export > '${exported}'`, { env });
  assert.equal(exporting.code, 3, exporting.stderr);
  const fixed = await runChain(`sed 's/user2@@/user2@/' '${exported}' | authpipe validate | authpipe write workos --ledger '${ledger}' --quiet`, { env });
  assert.equal(fixed.code, 0, fixed.stderr);
  const { done, invalid } = (await ledgerStatus(ledger)).byState;
  assert.deepEqual({ done, invalid }, { done: 2, invalid: 0 });
  // Its password hash never left the ledger, and came back from it.
  const create = emulator.requests.find((request) => request.accepted && request.path === '/user_management/users' && (request.body as { email: string }).email === 'user2@example.com');
  assert.equal((create?.body as { password_hash?: string }).password_hash, BCRYPT_HASH);
});

test('a duplicate exported, fixed by hand and written back is one record of its user: the next run of the fixed export skips it', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  const ledger = path.join(dir, 'dup.db');
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  const users = path.join(dir, 'users.csv');
  writeFileSync(users, `email,first_name,hash,hash_type\nana@example.com,Ana,${BCRYPT_HASH},bcrypt\nANA@example.com,Cy,${BCRYPT_HASH},bcrypt\n`);
  const fields = '{"email": "email", "firstName": "first_name", "passwordHash": "hash", "passwordHashType": "hash_type"}';
  const chain = `authpipe read csv '${users}' | authpipe map --fields '${fields}' | authpipe validate | authpipe write workos --ledger '${ledger}' --quiet`;
  assert.equal((await runChain(chain, { env })).code, 3);

  const exported = path.join(dir, 'invalid.ndjson');
  await runChain(`authpipe replay --ledger '${ledger}' --class invalid --export > '${exported}'`, { env });
  // By hand: another email, and the duplicate's finding removed, as the README says.
  const fixedFile = path.join(dir, 'fixed.ndjson');
  const [row] = readFileSync(exported, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  writeFileSync(fixedFile, `${JSON.stringify({ ...row, user: { ...row.user, email: 'cy@example.com' }, issues: row.issues.filter((issue) => issue.code !== 'email.duplicate') })}\n`);
  const fixed = await runChain(`authpipe validate < '${fixedFile}' | authpipe write workos --ledger '${ledger}' --quiet`, { env });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual([...emulator.store.users.values()].map((user) => user.email).sort(), ['ana@example.com', 'cy@example.com']);
  // Its password hash, kept in the ledger at its place, came back from there.
  const create = emulator.requests.find((request) => request.accepted && request.path === '/user_management/users' && (request.body as { email: string }).email === 'cy@example.com');
  assert.equal((create?.body as { password_hash?: string }).password_hash, BCRYPT_HASH);

  // The export fixed the same way: both rows are as the ledger has them.
  writeFileSync(users, `email,first_name,hash,hash_type\nana@example.com,Ana,${BCRYPT_HASH},bcrypt\ncy@example.com,Cy,${BCRYPT_HASH},bcrypt\n`);
  const sentBefore = emulator.requests.length;
  const again = await runChain(chain, { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(requestsAfterLedgerCheck(emulator, sentBefore), []);
  const { rows, byState } = await ledgerStatus(ledger);
  assert.deepEqual([rows, byState.done], [2, 2]);
});

test('a ledger taken to another server is refused before any write: its users are not there, and every one would be skipped', async (t) => {
  const tried = await emulatorFor(t);
  const other = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'tried.db');
  const input = Array.from({ length: 4 }, (_, seq) => envelopeLine(seq)).join('\n');
  const first = await runCli(['write', 'workos', '--ledger', ledger, '--quiet'], { input, env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: tried.url } });
  assert.equal(first.code, 0, first.stderr);

  const elsewhere = await runCli(['write', 'workos', '--ledger', ledger, '--base-url', other.url, '--quiet'], { input, env: { WORKOS_API_KEY: 'sk_test_cli' } });
  assert.equal(elsewhere.code, 2, elsewhere.stderr);
  assert.match(elsewhere.stderr, /the ledger \S*tried\.db records users written to WorkOS, but http:\/\/127\.0\.0\.1:\d+ has none of the last 3 it wrote .*Give this server a ledger of its own/);
  assert.deepEqual(other.requests.filter((request) => request.method !== 'GET'), []);
  assert.equal(other.store.users.size, 0);

  // The same server, with a user deleted there since: the ledger is still its own.
  const [deleted] = [...tried.store.users.values()];
  tried.store.deleteUser(deleted.id);
  const again = await runCli(['write', 'workos', '--ledger', ledger, '--quiet'], { input, env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: tried.url } });
  assert.equal(again.code, 0, again.stderr);
});

test('replay sends the retryable rows again with the settings the ledger recorded, and only those', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503:1:writes' });
  const dir = tempDir();
  const ledger = path.join(dir, 'flaky.db');
  const input = Array.from({ length: 5 }, (_, seq) => envelopeLine(seq)).join('\n');
  const failing = await runCli(['write', 'workos', '--ledger', ledger, '--base-url', emulator.url, '--retries', '0', '--quiet'], {
    input,
    env: { WORKOS_API_KEY: 'sk_test_cli' },
  });
  assert.equal(failing.code, 3, failing.stderr);
  assert.equal((await ledgerStatus(ledger)).byErrorClass.retryable, 5);

  emulator.faults.clear();
  // No --base-url and no WORKOS_API_URL: the server comes from the ledger's last run.
  const replay = await runCli(['replay', '--ledger', ledger, '--class', 'retryable', '--json'], { env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: '' } });
  assert.equal(replay.code, 0, replay.stderr);
  // The 503s of the first attempt are no warnings of the replay, which went through without one.
  const summary = JSON.parse(replay.stderr.trim().split('\n').at(-1) ?? '') as { written: number; warnings: { byCode: Record<string, number> } };
  assert.deepEqual([summary.written, summary.warnings.byCode], [5, {}]);
  assert.equal(emulator.store.users.size, 5);
  const status = await ledgerStatus(ledger);
  assert.equal(status.byState.done, 5);
  const creates = emulator.requests.filter((request) => request.accepted && request.method === 'POST' && request.path === '/user_management/users');
  assert.equal(creates.length, 5);
});

test('replay enrols TOTP factors under the issuer the run was given, which the ledger recorded', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503:1:writes' });
  const ledger = path.join(tempDir(), 'issuer.db');
  const env = { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url };
  const input = JSON.stringify({ seq: 1, key: 'ext:u1', origin: { file: 'users.ndjson', line: 1 }, user: { email: 'u1@example.com', externalId: 'u1', totpSecret: TOTP_SECRET }, issues: [] });
  const failing = await runCli(['write', 'workos', '--ledger', ledger, '--totp-issuer', 'AcmeCorp', '--retries', '0', '--quiet'], { input, env });
  assert.equal(failing.code, 3, failing.stderr);

  emulator.faults.clear();
  const replay = await runCli(['replay', '--ledger', ledger, '--quiet'], { env });
  assert.equal(replay.code, 0, replay.stderr);
  const user = emulator.store.userByEmail('u1@example.com');
  assert.ok(user);
  assert.deepEqual(emulator.store.authFactorsOfUser(user.id).map((factor) => factor.totp.issuer), ['AcmeCorp']);
});

test('a replay killed mid-way and run again sends the rows it left in flight too, and every row ends done', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503:1:writes' });
  const ledger = path.join(tempDir(), 'replayed.db');
  const env = { ...process.env, WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url };
  const input = Array.from({ length: 10 }, (_, seq) => envelopeLine(seq)).join('\n');
  const failing = await runCli(['write', 'workos', '--ledger', ledger, '--retries', '0', '--quiet'], { input, env });
  assert.equal(failing.code, 3, failing.stderr);

  // Slow answers: the replay is killed with calls in flight, which leaves their rows in_flight in the ledger.
  emulator.faults.clear();
  emulator.faults.apply('latency=2000-2000');
  const killed = spawn(process.execPath, [bin, 'replay', '--ledger', ledger, '--concurrency', '4'], { cwd: root, env });
  while (emulator.requests.filter((request) => request.method === 'POST').length < 10 + 4) await sleep(10);
  killed.kill('SIGKILL');
  await once(killed, 'close');
  assert.equal((await ledgerStatus(ledger)).byState.in_flight, 4);

  emulator.faults.clear();
  const again = await runCli(['replay', '--ledger', ledger, '--quiet'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await ledgerStatus(ledger)).byState.done, 10);
  assert.equal(emulator.store.users.size, 10);
});

test('a replay takes each row left in flight once, even when it fails again and so becomes a failed row', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=400:1:writes' });
  const ledgerPath = path.join(tempDir(), 'left.db');
  const ledger = openLedger(ledgerPath);
  // More rows than are written at a time: the first ones have failed again before the ledger's failed rows are read.
  for (let seq = 0; seq < 30; seq++) {
    const user = { email: `user${seq}@example.com`, externalId: `u${seq}` };
    await ledger.claim({ key: `ext:u${seq}`, seq, origin: { file: 'users.ndjson', line: seq }, payload: JSON.stringify(user), payloadHash: `h${seq}`, issues: [], pendingUpdate: null });
  }
  ledger.close();
  const replay = await runCli(['replay', '--ledger', ledgerPath, '--base-url', emulator.url, '--retries', '0', '--concurrency', '2', '--json'], {
    env: { WORKOS_API_KEY: 'sk_test_cli' },
  });
  assert.equal(replay.code, 3, replay.stderr);
  const summary = JSON.parse(replay.stderr.trim().split('\n').at(-1) ?? '') as { read: number; failed: number };
  assert.deepEqual([summary.read, summary.failed], [30, 30]);
});

test('replay takes a --base-url over the one the ledger recorded, to send the failed rows to another server', async (t) => {
  const failing = await emulatorFor(t, { faults: 'status=503:1:writes' });
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'moved.db');
  const input = Array.from({ length: 3 }, (_, seq) => envelopeLine(seq)).join('\n');
  const env = { WORKOS_API_KEY: 'sk_test_cli' };
  const first = await runCli(['write', 'workos', '--ledger', ledger, '--base-url', failing.url, '--retries', '0', '--quiet'], { input, env });
  assert.equal(first.code, 3, first.stderr);
  const replay = await runCli(['replay', '--ledger', ledger, '--base-url', emulator.url, '--quiet'], { env });
  assert.equal(replay.code, 0, replay.stderr);
  assert.equal(emulator.store.users.size, 3);
  assert.equal(failing.store.users.size, 0);
  assert.equal((await ledgerStatus(ledger)).byState.done, 3);
});

test('a server that cannot be reached stops the run at once with exit 1, naming the cause; the next run resumes', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'unreachable.db');
  const input = Array.from({ length: 20 }, (_, seq) => envelopeLine(seq)).join('\n');
  const env = { WORKOS_API_KEY: 'sk_test_cli' };
  const stopped = await runCli(['write', 'workos', '--ledger', ledger, '--base-url', 'http://127.0.0.1:1', '--quiet'], { input, env });
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /cannot reach the WorkOS API \(connect ECONNREFUSED 127\.0\.0\.1:1\).*\[workos\.unreachable\]/);
  const resumed = await runCli(['write', 'workos', '--ledger', ledger, '--base-url', emulator.url, '--quiet'], { input, env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(emulator.store.users.size, 20);
});

test('rows WorkOS refused are exported without their password hash and TOTP secret, fixed by hand, and written back with them', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  const ledger = path.join(dir, 'refused.db');
  const env = { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url };
  // A metadata value over 600 characters: WorkOS answers 400 invalid_metadata.
  const withSecret = JSON.parse(envelopeLine(2, { note: 'x'.repeat(700) })) as Envelope;
  withSecret.user.totpSecret = TOTP_SECRET;
  const input = [envelopeLine(1), JSON.stringify(withSecret)].join('\n');
  const first = await runCli(['write', 'workos', '--ledger', ledger, '--quiet'], { input, env });
  assert.equal(first.code, 3, first.stderr);

  const exported = await runCli(['replay', '--ledger', ledger, '--class', 'permanent', '--export'], { env });
  assert.equal(exported.code, 0, exported.stderr);
  assert.ok(!exported.stdout.includes(BCRYPT_HASH), 'the export holds a password hash');
  assert.ok(!exported.stdout.includes(TOTP_SECRET), 'the export holds a TOTP secret');
  const [refused] = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.equal(refused?.key, 'ext:u2');
  assert.equal(refused?.user.totpSecret, '[kept in the ledger]');
  assert.deepEqual(
    refused?.issues.map((issue) => issue.code),
    ['workos.invalid_metadata', 'replay.not_validated'],
  );

  // Written back without a validate stage, it is left alone: nothing sent, the ledger as it was, exit 3.
  const sentBefore = emulator.requests.length;
  const unchecked = await runCli(['write', 'workos', '--ledger', ledger], { input: exported.stdout, env });
  assert.equal(unchecked.code, 3, unchecked.stderr);
  assert.match(unchecked.stderr, /warning: workos: 1 row of replay --export came without a validate stage after the fix, and was left as the ledger has it, nothing sent/);
  assert.deepEqual(requestsAfterLedgerCheck(emulator, sentBefore), []);

  // Sent back unfixed through validate, it is checked afresh: kept out for what WorkOS refused, the old answer dropped.
  const again = await runChain(`authpipe validate | authpipe write workos --ledger '${ledger}' --quiet`, { input: exported.stdout, env });
  assert.equal(again.code, 3, again.stderr);
  const reexported = await runCli(['replay', '--ledger', ledger, '--class', 'all', '--export'], { env });
  assert.deepEqual(
    reexported.stdout.trim().split('\n').map((line) => (JSON.parse(line) as Envelope).issues.map((issue) => issue.code)),
    [['metadata.value_invalid', 'replay.not_validated']],
  );

  const fixed = { ...refused, user: { ...refused?.user, metadata: { note: 'short' } } };
  const written = await runChain(`authpipe validate | authpipe write workos --ledger '${ledger}' --quiet`, { input: JSON.stringify(fixed), env });
  assert.equal(written.code, 0, written.stderr);

  const user = emulator.store.userByEmail('user2@example.com');
  assert.deepEqual(user?.metadata, { note: 'short' });
  const create = emulator.requests.find((request) => request.accepted && request.path === '/user_management/users' && (request.body as { email: string }).email === 'user2@example.com');
  assert.equal((create?.body as { password_hash?: string }).password_hash, BCRYPT_HASH);
  const enrolment = emulator.requests.find((request) => request.accepted && request.path === `/user_management/users/${user?.id}/auth_factors`);
  assert.equal((enrolment?.body as { totp_secret?: string }).totp_secret, TOTP_SECRET);
  assert.equal((await ledgerStatus(ledger)).byState.done, 2);
});

test('ledger rows lists rows by state without payloads, and an unknown state is a usage error', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'rows.db');
  const input = [envelopeLine(1), envelopeLine(2, { note: 'x'.repeat(700) })].join('\n');
  await runCli(['write', 'workos', '--ledger', ledger, '--quiet'], { input, env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url } });

  const failed = await runCli(['ledger', 'rows', '--ledger', ledger, '--state', 'failed']);
  assert.equal(failed.code, 0, failed.stderr);
  const rows = failed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    rows.map((row) => [row.key, row.state, (row.error as { code: string }).code]),
    [['ext:u2', 'failed', 'invalid_metadata']],
  );
  assert.ok(!failed.stdout.includes(BCRYPT_HASH));

  const wrong = await runCli(['ledger', 'rows', '--ledger', ledger, '--state', 'finished']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--state: unknown state finished/);
});

test('SIGINT during an import (sent twice at once, as timeout -s INT may) exits 130 with the rows in flight recorded, and the next run creates each remaining user once', async (t) => {
  // Slow answers keep calls in flight when the signals come.
  const emulator = await emulatorFor(t, { faults: 'latency=300-300' });
  const ledger = path.join(tempDir(), 'interrupted.db');
  const env = { ...process.env, WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url };
  const input = `${Array.from({ length: 40 }, (_, seq) => envelopeLine(seq)).join('\n')}\n`;
  const child = spawn(process.execPath, [bin, 'write', 'workos', '--ledger', ledger, '--rate', 'none', '--concurrency', '2'], { cwd: root, env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  while (emulator.store.users.size < 3 && child.exitCode === null) await sleep(10);
  const closed = once(child, 'close');
  child.kill('SIGINT');
  // Apart enough not to be merged into one by the kernel, close enough to be one request.
  await sleep(50);
  child.kill('SIGINT');
  const [code] = (await closed) as [number | null];
  assert.equal(code, 130, stderr);
  // Its rows came from stdin: the same command alone would have none to resume with.
  assert.match(stderr, /warning: interrupted; to resume, run the whole chain again: rows already written are skipped\n/);
  const interrupted = await ledgerStatus(ledger);
  assert.equal(interrupted.byState.in_flight + interrupted.byState.failed, 0);
  assert.equal(interrupted.byState.done, emulator.store.users.size);

  const resumed = await runCli(['write', 'workos', '--ledger', ledger, '--rate', 'none', '--quiet'], { input, env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(emulator.store.users.size, 40);
  const creates = emulator.requests.filter((request) => request.accepted && request.method === 'POST' && request.path === '/user_management/users');
  assert.equal(creates.length, 40);
});

test('plan reads the whole input and counts the calls a run would send, without sending any or creating the ledger', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'planned.db');
  const result = await runCli(['plan', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger], { env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url } });
  assert.equal(result.code, 3, result.stderr);
  assert.ok(result.stderr.includes(`dry run: a run would write to ${emulator.url}\n`), result.stderr);
  assert.match(result.stderr, /dry run: 17 users to create, 0 to update, 0 to reconcile \(left in flight\), 0 to complete, 0 unchanged, 4 invalid/);
  assert.match(result.stderr, /dry run: 4 organizations to resolve, 7 memberships, 2 TOTP factors; at most 30 write calls/);
  assert.equal(emulator.requests.length, 0);
  assert.throws(() => statSync(ledger), { code: 'ENOENT' });

  // The same plan for a script.
  const json = await runCli(['plan', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger, '--json'], { env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url } });
  const { sink } = JSON.parse(json.stderr.trim().split('\n').at(-1) ?? '') as { sink: Record<string, number> };
  assert.deepEqual(sink, { create: 17, update: 0, reconcile: 0, complete: 0, unchanged: 0, invalid: 4, memberships: 7, orgs: 4, factors: 2, writeCalls: 30, seconds: 1 });
});

test('an API key is never taken as a flag, where ps and shell history would keep it', async () => {
  const result = await runCli(['write', 'workos', '--api-key', 'sk_test_should_not_be_taken', '--ledger', path.join(tempDir(), 'ledger.db')], { input: '' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown option '--api-key'/);
});

test('many calls waiting out a 429 storm at a high concurrency print no listener-leak warning', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'storm=429x20:retry=1' });
  const env = { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: emulator.url };
  const input = `${Array.from({ length: 20 }, (_, seq) => envelopeLine(seq)).join('\n')}\n`;
  const result = await runCli(['write', 'workos', '--ledger', path.join(tempDir(), 'storm.db'), '--concurrency', '16'], { input, env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(emulator.store.users.size, 20);
  assert.doesNotMatch(result.stderr, /MaxListenersExceededWarning/);
});

test('a key, a ledger or a ledger path the run cannot start with is a usage error (exit 2), and nothing is sent', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'ledger.db');
  const input = `${envelopeLine(1)}\n`;
  const cases = [
    { args: ['write', 'workos', '--ledger', ledger], env: { WORKOS_API_KEY: '', WORKOS_SECRET_KEY: '' }, message: /no WorkOS API key/ },
    { args: ['write', 'workos', '--ledger', ledger], env: { WORKOS_API_KEY: 'sk_live_cli' }, message: /live key/ },
    { args: ['write', 'workos'], env: { WORKOS_API_KEY: 'sk_test_cli' }, message: /needs a ledger/ },
    { args: ['write', 'workos', '--ledger', tempDir()], env: { WORKOS_API_KEY: 'sk_test_cli' }, message: /is not an authpipe ledger \(it is a folder\)/ },
    { args: ['ledger', 'status', '--ledger', path.join(root, 'fixtures/clerk/users.csv')], env: {}, message: /is not an authpipe ledger \(not an SQLite database\)/ },
  ];
  for (const { args, env, message } of cases) {
    const result = await runCli(args, { input, env: { WORKOS_API_URL: emulator.url, ...env } });
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.equal(emulator.requests.length, 0);
});

test('with --json, a run stopped by an outage counts the rows it wrote before it, as the ledger has them', async (t) => {
  const emulator = await emulatorFor(t);
  let creates = 0;
  const baseUrl = await serve(t, (request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      // After four creates, WorkOS is down: every call fails, lookups too.
      if (request.method === 'POST' && request.url === '/user_management/users') creates++;
      if (creates > 4) {
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"down"}');
        return;
      }
      await forward(emulator, request, body, response);
    })();
  });
  const ledger = path.join(tempDir(), 'outage.db');
  const input = Array.from({ length: 10 }, (_, seq) => envelopeLine(seq)).join('\n');
  const result = await runCli(['write', 'workos', '--ledger', ledger, '--json', '--base-url', baseUrl, '--retries', '0', '--max-outage', '1000', '--concurrency', '1'], {
    input,
    env: { WORKOS_API_KEY: 'sk_test_cli' },
  });
  assert.equal(result.code, 1, result.stderr);
  const summary = JSON.parse(result.stderr.trimEnd().split('\n').at(-1) ?? 'null') as { written: number; error: { code: string } };
  assert.deepEqual([summary.written, summary.error.code], [4, 'workos.outage']);
  assert.equal((await ledgerStatus(ledger)).byState.done, 4);
});

test('replay with WORKOS_API_URL naming another server says that the ledger\'s server is the one used', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'clerk.db');
  const imported = await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger, '--quiet'], { env: { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' } });
  assert.equal(imported.code, 3, imported.stderr);
  const replayed = await runCli(['replay', '--ledger', ledger, '--quiet'], { env: { WORKOS_API_URL: 'http://127.0.0.1:9', WORKOS_API_KEY: 'sk_test_cli' } });
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stderr, /^warning: WORKOS_API_URL is http:\/\/127\.0\.0\.1:9, but the ledger's last run wrote to http:\/\/127\.0\.0\.1:\d+, which is used; pass --base-url to use another$/m);
});

test('a ledger another process holds is refused before anything is read, exit 2, naming that process', async (t) => {
  const emulator = await emulatorFor(t);
  const file = path.join(tempDir(), 'held.db');
  const held = openLedger(file);
  try {
    const input = Array.from({ length: 2 }, (_, seq) => envelopeLine(seq)).join('\n');
    const refused = await runCli(['write', 'workos', '--ledger', file, '--base-url', emulator.url], { input, env: { WORKOS_API_KEY: 'sk_test_cli' } });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`is in use by process ${process.pid} .*\\[ledger\\.locked\\]`));
    assert.equal(emulator.store.users.size, 0);
  } finally {
    held.close();
  }
});
