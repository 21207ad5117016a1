import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../sources/context.ts';
import { runCli } from './cli.ts';

const NO_WORKOS = { WORKOS_API_KEY: '', WORKOS_SECRET_KEY: '', WORKOS_API_URL: '' };

test('the demo pipeline imports the bundled fixtures into the embedded emulator with no key and no network', async () => {
  const ledger = path.join(tempDir(), 'demo', 'demo.db');
  const result = await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger], { env: NO_WORKOS });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /workos: 17 written \(17 created, 0 updated, 0 already in WorkOS, 0 completed\), 0 unchanged, 4 invalid recorded/);
  assert.match(result.stderr, /^ {2}read {6}21 /m);
  assert.match(result.stderr, /^ {2}written {3}17$/m);
  // The after: step proves it landed, in the emulator the run wrote to.
  assert.match(result.stderr, /^diff: 17 users of the ledger looked for at the embedded emulator: 17 in WorkOS as sent, 0 missing/m);
  assert.match(result.stderr, /^diff: memberships 7 of 7 as sent .*; TOTP factors 2 of 2$/m);
});

test('a live key in the environment, meant for a real run, neither stops the demo nor is used by it', async () => {
  const ledger = path.join(tempDir(), 'demo', 'demo.db');
  const result = await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--quiet'], { env: { ...NO_WORKOS, WORKOS_API_KEY: 'sk_live_meant_for_production' } });
  assert.equal(result.code, 3, result.stderr);
  assert.doesNotMatch(result.stderr, /live|sk_live/);
});

test('with --json, stderr holds the summary alone (no progress or info lines), for a script to parse whole', async () => {
  const ledger = path.join(tempDir(), 'demo', 'demo.db');
  const result = await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--json'], { env: NO_WORKOS });
  assert.equal(result.code, 3, result.stderr);
  const summary = JSON.parse(result.stderr) as { read: number; written: number; exitCode: number; sink: Record<string, unknown> };
  assert.deepEqual([summary.read, summary.written, summary.exitCode], [21, 17, 3]);
  // What the WorkOS writer did with each row, as the line for people says it.
  assert.deepEqual(summary.sink, { created: 17, foundAfterLostAnswer: 0, updated: 0, found: 0, completed: 0, unchanged: 0, failedByCode: {}, invalidRecorded: 4, leftForNextRun: 0, notValidated: 0 });
});

test('the demo run again on its ledger is refused: the embedded emulator starts empty, and every user would be skipped as written', async () => {
  const ledger = path.join(tempDir(), 'demo', 'demo.db');
  await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--quiet'], { env: NO_WORKOS });
  const again = await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--quiet'], { env: NO_WORKOS });
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /the embedded emulator \(new and empty each run\) has none of the last 3 it wrote .*Give this server a ledger of its own/);
});
