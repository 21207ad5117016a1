import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../../pipelines/record.ts';
import { bin, root, runChain, runCli } from './cli.ts';

const users = path.join(root, 'fixtures/clerk/users.csv');

const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-run-'));

interface Summary {
  read: number;
  merged: number;
  written: number;
  invalid: { rows: number; byCode: Record<string, number>; examples: string[] };
  warnings: { byCode: Record<string, number> };
  exitCode: number;
}

test('run writes only valid rows, reports the rest by code, and exits 3', async () => {
  const output = path.join(dir, 'rows.ndjson');
  const rejects = path.join(dir, 'rejects.ndjson');
  const result = await runCli(['run', 'pipelines/clerk-to-ndjson.yaml', '--json'], { env: { OUT: output, REJECTS: rejects } });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as Summary;
  assert.deepEqual(
    { read: summary.read, written: summary.written, invalid: summary.invalid, exitCode: summary.exitCode },
    {
      read: 21,
      written: 17,
      invalid: {
        rows: 4,
        byCode: { 'email.missing': 1, 'email.invalid': 1, 'email.duplicate': 2 },
        examples: [
          `${users}:9: the user has no email address; WorkOS needs one for every user [email.missing]`,
          `${users}:10: email "bob@@example..com" is not a valid address: the part before the @ has a character that is only allowed inside quotes, such as @, a comma or a bracket [email.invalid]`,
          `${users}:11: ana@example.com already appears at ${users}:2 [email.duplicate]`,
          `${users}:22: ana@example.com already appears at ${users}:2 [email.duplicate]`,
        ],
      },
      exitCode: 3,
    },
  );
  const rows = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.equal(rows.length, 17);
  assert.ok(rows.every((row) => row.raw === undefined && !row.issues.some((issue) => issue.level === 'error')));
  const rejected = readFileSync(rejects, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.deepEqual(rejected.map((row) => [row.origin.line, row.raw === undefined]), [[9, false], [10, false], [11, false], [22, false]]);
});

test('the summary names the first invalid rows by file and line, then how many more, as a file-writing chain does', async () => {
  const input = path.join(dir, 'many-bad.csv');
  const bad = Array.from({ length: 12 }, (_, index) => `user_${index},not-an-email-${index}`);
  writeFileSync(input, ['id,primary_email_address', 'user_ok,ok@example.com', ...bad, ''].join('\n'));
  const run = await runCli(['run', 'pipelines/clerk-to-ndjson.yaml', '--set', `source.path=${input}`], { env: { OUT: path.join(dir, 'many-bad.ndjson'), REJECTS: path.join(dir, 'many-bad.rejects.ndjson') } });
  const chain = await runChain(`authpipe read csv '${input}' | authpipe map --preset clerk | authpipe validate | authpipe write csv '${path.join(dir, 'many-bad.csv.out')}'`);
  for (const result of [run, chain]) {
    assert.equal(result.code, 3, result.stderr);
    const listed = result.stderr.split('\n').filter((line) => line.includes('[email.invalid]'));
    assert.deepEqual(
      listed.map((line) => line.trim().replace(/^\S*many-bad\.csv:(\d+):.*$/, '$1')),
      Array.from({ length: 10 }, (_, index) => String(index + 3)),
    );
    assert.match(result.stderr, /^ +and 2 more invalid rows$/m);
  }
  // Verbs that pass the rows on leave the listing to the verb at the end of the chain.
  assert.equal(chain.stderr.split('\n').filter((line) => line.includes('many-bad.csv:3:')).length, 1);
});

test('the summary accounts for every row read: merged by dedupe, written, or invalid', async () => {
  const result = await runCli(['run', 'pipelines/workos-csv-check.yaml', '--json'], { env: { OUT: path.join(dir, 'checked.csv') } });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as Summary;
  assert.deepEqual({ read: summary.read, merged: summary.merged, written: summary.written, invalid: summary.invalid.rows }, { read: 13, merged: 1, written: 7, invalid: 5 });
});

test('run exits 0 when every row is written, and --set overrides the pipeline file', async () => {
  const input = path.join(dir, 'clean.csv');
  writeFileSync(
    input,
    'primary_email_address,id,first_name,last_name,verified_email_addresses,password_digest,password_hasher,totp_secret\nana@example.com,user_1,Ana,,,,,\nbo@example.com,user_2,Bo,,,,,\n',
  );
  const output = path.join(dir, 'clean.ndjson');
  // Without the org and role files, whose users this export does not have.
  const pipelineFile = path.join(dir, 'clean.yaml');
  writeFileSync(pipelineFile, 'version: 1\nname: clean\nsource: { use: csv, path: elsewhere.csv }\nstages: [{ use: map, preset: clerk }, { use: validate }]\nsink: { use: ndjson, path: "${OUT}" }\n');
  writeFileSync(path.join(dir, 'elsewhere.csv'), 'id,primary_email_address\n');
  const result = await runCli(['run', pipelineFile, '--quiet', '--set', `source.path=${input}`], { env: { OUT: output } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(
    readFileSync(output, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Envelope).user.email),
    ['ana@example.com', 'bo@example.com'],
  );
  // A ledger given to a run that writes a file is said to record nothing, and is not made.
  const ledger = path.join(dir, 'unused.db');
  const withLedger = await runCli(['run', pipelineFile, '--quiet', '--set', `source.path=${input}`, '--ledger', ledger], { env: { OUT: output } });
  assert.equal(withLedger.code, 0, withLedger.stderr);
  assert.ok(withLedger.stderr.includes(`warning: the ledger ${ledger} is kept by the workos sink only: this run writes ${output} and records nothing in it\n`), withLedger.stderr);
  assert.equal(existsSync(ledger), false);
  // Without --quiet the run says where the rows went: ${OUT} and relative paths resolve against the pipeline's folder.
  const told = await runCli(['run', pipelineFile, '--set', `source.path=${input}`], { env: { OUT: 'told.ndjson' } });
  assert.equal(told.code, 0, told.stderr);
  assert.ok(told.stderr.includes(`the rows written are in ${path.join(dir, 'told.ndjson')}\n`), told.stderr);
});

test('an input broken partway is a fatal error, exit 1, naming the file; the rows read before it are written and counted', async () => {
  const broken = path.join(dir, 'broken.json');
  // More than the ndjson sink gathers into one write, so rows it held back when the source failed would be missing.
  const records = Array.from({ length: 3000 }, (_, index) => `{"email": "user${index}@example.com"}`);
  writeFileSync(broken, `{"users": [ ${records.join(',\n')}, `);
  const output = path.join(dir, 'out.ndjson');
  const pipeline = path.join(dir, 'json.yaml');
  writeFileSync(pipeline, `version: 1\nname: json\nsource: { use: json, path: ${broken}, key: users }\nstages: [{ use: map, fields: { email: email } }]\nsink: { use: ndjson, path: ${output} }\n`);
  const result = await runCli(['run', pipeline]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^json: stopped by the error below in [\d.]+ s\n {2}read {6}3000 .*\n {2}written {3}3000\n/m);
  assert.match(result.stderr, /broken\.json:3000:36: .*\[json\.invalid\]/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/);
  // The rows of a run that stopped short go under their own name, never passing for a whole output.
  assert.match(result.stderr, /warning: the run stopped short: .*out\.ndjson is not written; the rows written so far are in .*out\.ndjson\.partial/);
  assert.ok(!existsSync(output));
  const written = readFileSync(`${output}.partial`, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Envelope).user.email);
  assert.equal(written.length, 3000);
  assert.equal(written.at(-1), 'user2999@example.com');
});

test('a stage that fails partway (its duplicate index loses its folder) still has the rows before it written, then exits 1', async () => {
  const tmp = mkdtempSync(path.join(dir, 'tmp-'));
  const output = path.join(dir, 'stage-failed.ndjson');
  const pipeline = path.join(dir, 'stage-failed.yaml');
  writeFileSync(pipeline, `version: 1\nname: dup\nsource: { use: ndjson, path: '-' }\nstages: [{ use: map, fields: { email: email, externalId: id } }, { use: validate }]\nsink: { use: ndjson, path: ${output} }\n`);
  const child = spawn(process.execPath, [bin, 'run', pipeline], { env: { ...process.env, TMPDIR: tmp } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'close');
  // The index's folder exists once the stage is built; without it, the index's first write to disk fails.
  let indexFolder: string | undefined;
  while (indexFolder === undefined) {
    indexFolder = readdirSync(tmp).find((name) => name.startsWith('authpipe-duplicates-'));
    await sleep(20);
  }
  rmSync(path.join(tmp, indexFolder), { recursive: true });
  // Two claims per row: the index goes to disk after 32,768 rows.
  const rows = Array.from({ length: 40_000 }, (_, index) => `{"email": "user${index}@example.com", "id": "user_${index}"}\n`);
  // The run stops reading when it fails: what is left of the input meets a closed pipe.
  child.stdin.on('error', () => undefined);
  child.stdin.end(rows.join(''));
  const [code] = await exited;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /\[validate\.index_unavailable\]/);
  const written = Number(/^ {2}written {3}(\d+)$/m.exec(stderr)?.[1]);
  assert.ok(written > 30_000, stderr);
  const lines = readFileSync(`${output}.partial`, 'utf8').trim().split('\n');
  assert.equal(lines.length, written);
  assert.equal((JSON.parse(lines.at(-1) ?? '') as Envelope).user.email, `user${written - 1}@example.com`);
});

test('with --json, a fatal error still reports as JSON what was read before it, the error and exit code 1', async () => {
  const broken = path.join(dir, 'cut.json');
  writeFileSync(broken, '{"users": [ {"email": "a@example.com"}, {"email": "b@example.com"}, ');
  const result = await runCli(['read', 'json', broken, '--key', 'users', '--json']);
  assert.equal(result.code, 1);
  // The line for people first, the JSON last, for a script to take the last line.
  const lines = result.stderr.trimEnd().split('\n');
  assert.match(lines.at(-2) ?? '', /^authpipe: .*cut\.json.*\[json\.invalid\]$/);
  const summary = JSON.parse(lines.at(-1) ?? 'null');
  assert.equal(summary.read, 2);
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.error.code, 'json.invalid');
  assert.match(summary.error.message, /cut\.json/);
});

test('plan (run --dry-run) goes through every stage, says what it would write, writes nothing and leaves the output file as it was', async () => {
  const output = path.join(dir, 'untouched.ndjson');
  writeFileSync(output, 'earlier content\n');
  const result = await runCli(['plan', 'pipelines/clerk-to-ndjson.yaml'], { env: { OUT: output, REJECTS: path.join(dir, 'untouched.rejects.ndjson') } });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /^ {2}read {6}21 /m);
  assert.match(result.stderr, /^ {2}written {3}0$/m);
  assert.match(result.stderr, /^ {2}invalid {3}4 /m);
  assert.match(result.stderr, /^dry run: 17 rows would be written to .*untouched\.ndjson; nothing was written$/m);
  assert.equal(readFileSync(output, 'utf8'), 'earlier content\n');
  assert.ok(!existsSync(path.join(dir, 'untouched.rejects.ndjson')));
});

test('with --json, a command stopped before its run began still ends stderr with the failure as JSON', async () => {
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'version: 1\nname: broken\nsource: { use: csv, path: nowhere.csv }\nsink: { use: ndjson, path: out.ndjson }\n');
  for (const [args, code] of [
    [['run', path.join(dir, 'missing.yaml'), '--json'], 'pipeline.not_found'],
    [['run', broken, '--json'], 'pipeline.invalid'],
    [['diff', '--ledger', path.join(dir, 'none.db'), '--json'], 'ledger.missing'],
    [['run', broken, '--json', '--bogus'], 'commander.unknownOption'],
  ] as const) {
    const result = await runCli([...args]);
    assert.equal(result.code, 2, result.stderr);
    const last = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as { error: { code: string; message: string }; exitCode: number };
    assert.deepEqual([last.error.code, last.exitCode], [code, 2]);
  }
});
