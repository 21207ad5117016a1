import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Envelope } from '../../pipelines/record.ts';
import { runCli } from './cli.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-run-'));

interface Summary {
  read: number;
  merged: number;
  written: number;
  invalid: { rows: number; byCode: Record<string, number> };
  warnings: { byCode: Record<string, number> };
  exitCode: number;
}

test('run writes only valid rows, reports the rest by code, and exits 3', async () => {
  const output = path.join(dir, 'rows.ndjson');
  const result = await runCli(['run', 'pipelines/clerk-to-ndjson.yaml', '--json'], { env: { OUT: output } });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as Summary;
  assert.deepEqual(
    { read: summary.read, written: summary.written, invalid: summary.invalid, exitCode: summary.exitCode },
    { read: 21, written: 17, invalid: { rows: 4, byCode: { 'email.missing': 1, 'email.invalid': 1, 'email.duplicate': 2 } }, exitCode: 3 },
  );
  const rows = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Envelope);
  assert.equal(rows.length, 17);
  assert.ok(rows.every((row) => row.raw === undefined && !row.issues.some((issue) => issue.level === 'error')));
});

test('the summary accounts for every row read: merged by dedupe, written, or invalid', async () => {
  const result = await runCli(['run', 'pipelines/workos-csv-check.yaml', '--json'], { env: { OUT: path.join(dir, 'checked.csv') } });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as Summary;
  assert.deepEqual({ read: summary.read, merged: summary.merged, written: summary.written, invalid: summary.invalid.rows }, { read: 13, merged: 1, written: 7, invalid: 5 });
});

test('run exits 0 when every row is written, and --set overrides the pipeline file', async () => {
  const input = path.join(dir, 'clean.csv');
  writeFileSync(input, 'primary_email_address,id,first_name\nana@example.com,user_1,Ana\nbo@example.com,user_2,Bo\n');
  const output = path.join(dir, 'clean.ndjson');
  const result = await runCli(['run', 'pipelines/clerk-to-ndjson.yaml', '--quiet', '--set', `source.path=${input}`], {
    env: { OUT: output },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.deepEqual(
    readFileSync(output, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Envelope).user.email),
    ['ana@example.com', 'bo@example.com'],
  );
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
  assert.match(result.stderr, /^json: stopped by the input error below in [\d.]+ s\n {2}read {6}3000 .*\n {2}written {3}3000\n/m);
  assert.match(result.stderr, /broken\.json:3000:36: .*\[json\.invalid\]/);
  assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/);
  const written = readFileSync(output, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as Envelope).user.email);
  assert.equal(written.length, 3000);
  assert.equal(written.at(-1), 'user2999@example.com');
});

test('with --json, a fatal error still reports as JSON what was read before it, the error and exit code 1', async () => {
  const broken = path.join(dir, 'cut.json');
  writeFileSync(broken, '{"users": [ {"email": "a@example.com"}, {"email": "b@example.com"}, ');
  const result = await runCli(['read', 'json', broken, '--key', 'users', '--json']);
  assert.equal(result.code, 1);
  const summary = JSON.parse(result.stderr.split('\n').find((line) => line.startsWith('{')) ?? 'null');
  assert.equal(summary.read, 2);
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.error.code, 'json.invalid');
  assert.match(summary.error.message, /cut\.json/);
});

test('plan (run --dry-run) goes through every stage and leaves the output file as it was', async () => {
  const output = path.join(dir, 'untouched.ndjson');
  writeFileSync(output, 'earlier content\n');
  const result = await runCli(['plan', 'pipelines/clerk-to-ndjson.yaml', '--json'], { env: { OUT: output } });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as Summary;
  assert.deepEqual([summary.read, summary.written, summary.invalid.rows], [21, 17, 4]);
  assert.equal(readFileSync(output, 'utf8'), 'earlier content\n');
});
