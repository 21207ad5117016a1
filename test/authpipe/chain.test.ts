import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Envelope } from '../../pipelines/record.ts';
import { runChain, runCli } from './cli.ts';

function errorCodes(envelopes: Envelope[]): Record<string, string[]> {
  const byKey: Record<string, string[]> = {};
  for (const envelope of envelopes) {
    const codes = envelope.issues.filter((issue) => issue.level === 'error').map((issue) => issue.code);
    if (codes.length > 0) byKey[`${envelope.origin.file}:${envelope.origin.line}`] = codes;
  }
  return byKey;
}

test('read csv | map --preset clerk | validate turns the Clerk export into WorkOS-shaped envelopes', async () => {
  const result = await runChain(
    'authpipe read csv fixtures/clerk/users.csv | authpipe map --preset clerk --orgs fixtures/clerk/org-mapping.csv --roles fixtures/clerk/role-mapping.csv | authpipe validate',
  );
  const envelopes = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.equal(envelopes.length, 21);
  assert.deepEqual(errorCodes(envelopes), {
    'fixtures/clerk/users.csv:9': ['email.missing'],
    'fixtures/clerk/users.csv:10': ['email.invalid'],
    'fixtures/clerk/users.csv:11': ['email.duplicate'],
    'fixtures/clerk/users.csv:22': ['email.duplicate'],
  });
  const ana = envelopes[0];
  assert.equal(ana.key, 'ext:user_2aNa01');
  assert.deepEqual(
    { email: ana.user.email, emailVerified: ana.user.emailVerified, firstName: ana.user.firstName, type: ana.user.passwordHashType },
    { email: 'ana@example.com', emailVerified: true, firstName: 'Ana', type: 'bcrypt' },
  );
  assert.deepEqual(ana.user.orgs, [
    { externalId: 'org_acme', name: 'Acme, Inc.', roles: ['admin', 'billing'] },
    { externalId: 'org_globex', name: 'Globex', roles: ['member'] },
  ]);
  // Every verb reports on stderr, never on stdout; the chain ends with validate's "some rows invalid" status.
  assert.match(result.stderr, /^validate: finished, 21 rows in [\d.]+ s, 4 invalid \(email\.duplicate 2, email\.missing 1, email\.invalid 1\), \d+ warnings$/m);
  assert.equal(result.code, 3);
});

test('a verb reads envelopes written by another verb, including invalid ones', async () => {
  const result = await runChain('printf "email\\nnot-an-email\\nok@example.com\\n" | authpipe read csv - --quiet | authpipe map --quiet --fields \'{"email":"email"}\' | authpipe validate --quiet');
  const envelopes = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.user.email, envelope.issues.map((issue) => issue.code)]),
    [
      [1, 'not-an-email', ['email.invalid']],
      [2, 'ok@example.com', []],
    ],
  );
  assert.equal(result.stderr, '');
});

test('a verb given an input file that does not exist says so in the words it was given: an argument, or a flag', async () => {
  const missingInput = await runCli(['read', 'csv', 'nowhere.csv']);
  assert.equal(missingInput.code, 2);
  assert.match(missingInput.stderr, /^authpipe: input file not found: .*nowhere\.csv \[cli\.file_not_found\]\n$/);
  const missingFlag = await runCli(['map', '--orgs', 'nowhere.csv'], { input: '' });
  assert.equal(missingFlag.code, 2);
  assert.match(missingFlag.stderr, /^authpipe: --orgs: file not found: .*nowhere\.csv \[cli\.file_not_found\]\n$/);
});

test('a ledger that does not exist is a usage error (exit 2) for every verb that reads one, naming it', async () => {
  for (const args of [['ledger', 'status'], ['ledger', 'rows'], ['replay']]) {
    const result = await runCli([...args, '--ledger', 'nowhere.db']);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /^authpipe: ledger \S*nowhere\.db does not exist \[ledger\.missing\]\n$/);
  }
});

test('read ledger needs its ledger named: it never waits on stdin for one', async () => {
  const result = await runCli(['read', 'ledger']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /missing required argument 'input'/);
  assert.match(result.stderr, /input +Ledger file \(SQLite\) to read/);
});

test('a verb whose output file would go into a folder that does not exist stops before reading anything', async () => {
  const result = await runCli(['write', 'ndjson', 'nowhere/out.ndjson'], { input: '{"email":"ana@example.com"}\n' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^authpipe: output folder not found: .*nowhere \[cli\.folder_not_found\]\n$/);
});

test('a reader that closes the pipe early ends the chain quietly, and no duplicate index (emails, ids) is left behind', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-epipe-'));
  const indexParent = mkdtempSync(path.join(os.tmpdir(), 'authpipe-epipe-tmp-'));
  const rows = Array.from({ length: 50_000 }, (_, index) => `u${index},user${index}@example.com`);
  writeFileSync(path.join(dir, 'users.csv'), ['id,email', ...rows, ''].join('\n'));
  const result = await runChain(`authpipe read csv ${path.join(dir, 'users.csv')} | authpipe map --fields '{"email":"email"}' | authpipe validate | head -n 1`, {
    env: { TMPDIR: indexParent },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.split('\n').length, 2);
  assert.doesNotMatch(result.stderr, /Error|at /);
  assert.deepEqual(readdirSync(indexParent), []);
});

test('a full disk on stdout is said in one line, exit 1, with no stack trace', async () => {
  const result = await runChain('authpipe read csv fixtures/clerk/users.csv > /dev/full');
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'authpipe: cannot write to stdout (ENOSPC)\n');
});

test('a chain whose first verb fails before any row leaves the output of an earlier run as it was; with no earlier output, writes an empty one', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-chain-'));
  for (const [sink, file] of [['csv', 'keep.csv'], ['ndjson', 'keep.ndjson']]) {
    const output = path.join(dir, file);
    writeFileSync(output, 'rows of an earlier run\n');
    const result = await runChain(`authpipe read json '${path.join(dir, 'nowhere.json')}' --key users | authpipe map --preset clerk | authpipe write ${sink} '${output}'`);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /input file not found/);
    assert.match(result.stderr, new RegExp(`no rows came in: \\S*${file.replace('.', '\\.')} is left as it was`));
    assert.equal(readFileSync(output, 'utf8'), 'rows of an earlier run\n');
  }
  const fresh = path.join(dir, 'fresh.csv');
  const empty = await runChain(`printf '' | authpipe write csv '${fresh}'`);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(readFileSync(fresh, 'utf8'), /^email,/);
});

test('a finding in rows dedupe joined names the joined lines, through a chain of verbs too', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-joined-'));
  writeFileSync(
    path.join(dir, 'users.csv'),
    'email,external_id,org_external_id,org_name,role_slugs\nm1@example.com,m-1,acme,Acme,admin\nm1@example.com,m-1,globex,Globex,Billing Admin\nm2@example.com,m-2,acme,Acme,member\n',
  );
  const result = await runChain('authpipe read csv users.csv | authpipe map --preset workos-csv | authpipe dedupe | authpipe validate', { cwd: dir });
  const [joined] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.deepEqual(
    joined?.issues.map((issue) => issue.message),
    ['users.csv:2 (with line 3 joined): role "Billing Admin" in organization "globex" is not a slug (lowercase letters, digits, - and _)'],
  );
});
