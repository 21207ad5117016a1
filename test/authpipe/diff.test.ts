// `authpipe diff` and `after: [{ use: diff }]` as a user runs them: the proof after an import, its exit code and
// report, and the mistakes it refuses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { emulatorFor } from '../emulators/workos/harness.ts';
import { sdkFor } from '../sinks/workos/harness.ts';
import { tempDir } from '../sources/context.ts';
import type { DiffCounts } from '../../sinks/workos/diff.ts';
import { bin, root, runChain, runCli } from './cli.ts';

test('diff after an import exits 0; once a user is deleted in WorkOS it exits 3 and its report names the user', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'clerk.db');
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  const imported = await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger, '--quiet'], { env });
  assert.equal(imported.code, 3, imported.stderr);

  // The server comes from the ledger's last run, not from the environment.
  const clean = await runCli(['diff', '--ledger', ledger], { env: { WORKOS_API_KEY: 'sk_test_cli', WORKOS_API_URL: 'http://127.0.0.1:9' } });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stderr, /diff: 17 users of the ledger looked for at http:\/\/127\.0\.0\.1:\d+: 17 in WorkOS as sent, 0 missing, 0 with other values; 4 invalid rows were never sent/);

  const gone = emulator.store.userByEmail('ana@example.com');
  await sdkFor(emulator).userManagement.deleteUser(gone?.id ?? '');
  const found = await runCli(['diff', '--ledger', ledger, '--report', '-', '--json'], { env });
  assert.equal(found.code, 3, found.stderr);
  const [difference, ...others] = found.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(others.map((other) => other.kind), ['membership_missing', 'membership_missing']);
  assert.deepEqual(difference, { kind: 'user_missing', key: difference?.key, email: 'ana@example.com', state: 'done', workosUserId: gone?.id });
  const counts = JSON.parse(found.stderr.trim().split('\n').at(-1) ?? '') as { missing: number; memberships: { missing: number } };
  assert.deepEqual([counts.missing, counts.memberships.missing], [1, 2]);
  assert.match(found.stderr, /1 row the ledger had as done is now failed\/retryable \(diff\.\* codes\): the next run, or `authpipe replay --ledger .*clerk\.db`, sends it again/);

  // What the diff found is in the ledger: a replay creates the user again with its memberships, and the proof holds.
  const replayed = await runCli(['replay', '--ledger', ledger, '--quiet'], { env });
  assert.equal(replayed.code, 0, replayed.stderr);
  const again = emulator.store.userByEmail('ana@example.com');
  assert.notEqual(again, undefined);
  assert.equal(emulator.store.membershipsOfUser(again?.id ?? '').length, 2);
  const proof = await runCli(['diff', '--ledger', ledger], { env });
  assert.equal(proof.code, 0, proof.stderr);
});

test('diff on a ledger of the embedded emulator says the emulator is gone with its run and how to prove such a run', async () => {
  const ledger = path.join(tempDir(), 'demo.db');
  await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--quiet'], { env: { WORKOS_API_URL: '' } });
  const result = await runCli(['diff', '--ledger', ledger]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /embedded emulator, which is gone with its run.*after: \[\{ use: diff \}\]/);
});

test('a pipeline run again after a user was deleted in WorkOS skips every row, and its after: diff finds the user missing: exit 3, after the summary', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  writeFileSync(path.join(dir, 'users.csv'), 'email,first_name\nana@example.com,Ana\nbo@example.com,Bo\n');
  const pipeline = path.join(dir, 'import.yaml');
  writeFileSync(
    pipeline,
    [
      'version: 1',
      'name: import',
      'source: { use: csv, path: users.csv }',
      'stages: [{ use: map, fields: { email: email, firstName: first_name } }]',
      'sink: { use: workos }',
      'ledger: import.db',
      'after: [{ use: diff, report: diff.ndjson }]',
    ].join('\n'),
  );
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  const first = await runCli(['run', pipeline], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /diff: every user, membership and factor of the ledger is in WorkOS as sent/);

  await sdkFor(emulator).userManagement.deleteUser(emulator.store.userByEmail('bo@example.com')?.id ?? '');
  const again = await runCli(['run', pipeline], { env });
  assert.equal(again.code, 3, again.stderr);
  assert.match(again.stderr, /^ {2}skipped {3}2$/m);
  assert.ok(again.stderr.indexOf('import: finished') < again.stderr.indexOf('diff: 2 users'), again.stderr);
  assert.match(again.stderr, /diff: 2 users of the ledger looked for at .*: 1 in WorkOS as sent, 1 missing/);
  assert.match(readFileSync(path.join(dir, 'diff.ndjson'), 'utf8'), /^\{"kind":"user_missing","key":"email:bo@example.com"/);

  // The next run creates the user again; with --json, the diff's outcome is in the summary, still the last line.
  const fixed = await runCli(['run', pipeline, '--json'], { env });
  assert.equal(fixed.code, 0, fixed.stderr);
  const summary = JSON.parse(fixed.stderr.trim().split('\n').at(-1) ?? '') as { written: number; skipped: number; unproven: boolean; exitCode: number; after: { diff: DiffCounts } };
  assert.deepEqual([summary.written, summary.skipped, summary.unproven, summary.exitCode], [1, 1, false, 0]);
  const { expected, landed, missing, mismatched } = summary.after.diff;
  assert.deepEqual({ expected, landed, missing, mismatched }, { expected: 2, landed: 2, missing: 0, mismatched: 0 });
  await sdkFor(emulator).userManagement.deleteUser(emulator.store.userByEmail('ana@example.com')?.id ?? '');
  const unproven = await runCli(['run', pipeline, '--json'], { env });
  assert.equal(unproven.code, 3, unproven.stderr);
  assert.match(unproven.stderr, /^warning: diff: WorkOS does not hold everything the ledger sent/m);
  const short = JSON.parse(unproven.stderr.trim().split('\n').at(-1) ?? '') as { unproven: boolean; exitCode: number; after: { diff: DiffCounts } };
  assert.deepEqual([short.unproven, short.exitCode, short.after.diff.landed, short.after.diff.missing], [true, 3, 1, 1]);
});

test('check refuses an after: diff behind a file sink, and an unknown after: step with a did-you-mean, at their lines', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'users.csv'), 'email\nana@example.com\n');
  const pipeline = path.join(dir, 'wrong.yaml');
  writeFileSync(
    pipeline,
    ['version: 1', 'name: wrong', 'source: { use: csv, path: users.csv }', 'sink: { use: ndjson, path: out.ndjson }', 'after:', '  - { use: diff }', '  - { use: dif }'].join('\n'),
  );
  const result = await runCli(['check', pipeline], { cwd: root });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /wrong\.yaml:6:\d+: diff compares WorkOS with the ledger of a workos sink; this pipeline's sink is ndjson/);
  assert.match(result.stderr, /wrong\.yaml:7:\d+: unknown after "dif" \(did you mean "diff"\?\)/);
});

test('a report at the ledger\'s path is refused, by the verb and by check, leaving the ledger whole', async (t) => {
  const emulator = await emulatorFor(t);
  const dir = tempDir();
  writeFileSync(path.join(dir, 'users.csv'), 'email\nana@example.com\n');
  const pipeline = path.join(dir, 'import.yaml');
  const lines = ['version: 1', 'name: import', 'source: { use: csv, path: users.csv }', 'stages: [{ use: map, fields: { email: email } }]', 'sink: { use: workos }', 'ledger: import.db'];
  writeFileSync(pipeline, lines.join('\n'));
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  assert.equal((await runCli(['run', pipeline, '--quiet'], { env })).code, 0);
  const ledger = path.join(dir, 'import.db');

  const verb = await runCli(['diff', '--ledger', ledger, '--report', ledger], { env });
  assert.equal(verb.code, 2, verb.stderr);
  assert.match(verb.stderr, /--report \S+import\.db is the ledger itself: name another file \[diff\.report_is_ledger\]\n$/);
  writeFileSync(pipeline, [...lines, 'after: [{ use: diff, report: import.db }]'].join('\n'));
  const check = await runCli(['check', pipeline]);
  assert.equal(check.code, 2, check.stderr);
  assert.match(check.stderr, /import\.yaml:7:\d+: an after: step writes \S+import\.db, which is the ledger; name another file/);
  assert.equal((await runCli(['diff', '--ledger', ledger], { env })).code, 0);
});

for (const readRate of ['1000/10s', 'none']) {
  test(`Ctrl-C during a diff stops it, says that what was found so far is recorded, and exits 130 (read budget ${readRate})`, async (t) => {
    const emulator = await emulatorFor(t, { faults: 'latency=400' });
    const dir = tempDir();
    writeFileSync(path.join(dir, 'users.ndjson'), Array.from({ length: 30 }, (_, index) => JSON.stringify({ email: `u${index}@example.com` })).join('\n'));
    const ledger = path.join(dir, 'slow.db');
    const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
    const imported = await runChain(`authpipe read ndjson users.ndjson | authpipe map --fields '{"email":"email"}' | authpipe write workos --ledger slow.db --quiet`, { env, cwd: dir });
    assert.equal(imported.code, 0, imported.stderr);
    const child = spawn(process.execPath, [bin, 'diff', '--ledger', ledger, '--read-rate', readRate], { env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (chunk.includes('diff: reading WorkOS')) child.kill('SIGINT');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 130, stderr);
    assert.match(stderr, /diff: stopped before the end: what it found so far is recorded in the ledger; run it again to compare every row/);
  });
}

test('a user renamed in WorkOS is named by the diff, and the replay it records restores the name and leaves the metadata as it is', async (t) => {
  const emulator = await emulatorFor(t);
  const ledger = path.join(tempDir(), 'renamed.db');
  const env = { WORKOS_API_URL: emulator.url, WORKOS_API_KEY: 'sk_test_cli' };
  await runCli(['run', 'pipelines/clerk-to-workos.yaml', '--ledger', ledger, '--quiet'], { env });
  const ana = emulator.store.userByEmail('ana@example.com');
  const metadata = ana?.metadata;
  assert.notDeepEqual(metadata, {});
  await sdkFor(emulator).userManagement.updateUser({ userId: ana?.id ?? '', firstName: 'Anna' });

  const found = await runCli(['diff', '--ledger', ledger, '--quiet'], { env });
  assert.equal(found.code, 3, found.stderr);
  const replayed = await runCli(['replay', '--ledger', ledger, '--quiet'], { env });
  assert.equal(replayed.code, 0, replayed.stderr);
  const restored = emulator.store.userByEmail('ana@example.com');
  assert.deepEqual([restored?.first_name, restored?.metadata], ['Ana', metadata]);
  const proof = await runCli(['diff', '--ledger', ledger], { env });
  assert.equal(proof.code, 0, proof.stderr);
});
