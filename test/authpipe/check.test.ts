import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-check-'));

test('check accepts the bundled Clerk pipeline and exits 0', async () => {
  const result = await runCli(['check', 'pipelines/clerk-to-ndjson.yaml']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
});

test('check prints every problem as file:line:col and exits 2', async () => {
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'version: 1\nname: broken\nsource: { use: cvs, path: x.csv }\nsink: { use: ndjson, pth: out.ndjson }\nretries: 3\n');
  const result = await runCli(['check', file]);
  assert.equal(result.code, 2);
  const lines = result.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((line) => line.replace(`${file}:`, 'broken.yaml:')),
    [
      'broken.yaml:3:16: unknown source "cvs" (did you mean "csv"?); known: csv, ndjson, json, ledger [pipeline.unknown_component]',
      'broken.yaml:4:22: sink "ndjson" has no option "pth" (did you mean "path"?) [pipeline.unknown_key]',
      'broken.yaml:5:1: unknown key "retries" [pipeline.unknown_key]',
    ],
  );
});

test('run refuses a broken pipeline before reading a row, with exit 2', async () => {
  const file = path.join(dir, 'typo.yaml');
  writeFileSync(file, 'version: 1\nname: typo\nsource: { use: csv, path: nowhere.csv }\nsink: { use: ndjson }\n');
  const result = await runCli(['run', file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /typo\.yaml:3:27: source "csv" option path: file not found: .*nowhere\.csv/);
  assert.equal(result.stdout, '');
});

test('a missing pipeline file and an unknown verb are usage errors', async () => {
  assert.equal((await runCli(['run', path.join(dir, 'absent.yaml')])).code, 2);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
