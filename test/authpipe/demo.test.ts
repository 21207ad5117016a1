import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../sources/context.ts';
import { runCli } from './cli.ts';

test('the demo pipeline imports the bundled fixtures into the embedded emulator with no key and no network', async () => {
  const ledger = path.join(tempDir(), 'demo', 'demo.db');
  const result = await runCli(['run', 'pipelines/demo.yaml', '--ledger', ledger, '--json'], { env: { WORKOS_API_KEY: '', WORKOS_SECRET_KEY: '', WORKOS_API_URL: '' } });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /workos: 17 written \(17 created, 0 updated, 0 already in WorkOS, 0 completed\), 0 unchanged, 4 invalid recorded/);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as { read: number; written: number };
  assert.deepEqual([summary.read, summary.written], [21, 17]);
});
