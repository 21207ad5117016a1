import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { bin, root } from './cli.ts';

test('SIGINT stops reading, flushes what was read, prints the summary and exits 130', async () => {
  const child = spawn(process.execPath, [bin, 'read', 'csv', '-'], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // stdin stays open: without the signal this command would wait for more rows forever. csv-parse holds the
  // last line until it sees what follows, so three rows are written to see two.
  child.stdin.write('email,first_name\nana@example.com,Ana\nbo@example.com,Bo\ncy@example.com,Cy\n');
  while (stdout.split('\n').length < 3) await once(child.stdout, 'data');
  child.kill('SIGINT');
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 130);
  const envelopes = stdout.trim().split('\n').map((line) => JSON.parse(line) as { raw: { email: string } });
  assert.deepEqual(envelopes.map((envelope) => envelope.raw.email), ['ana@example.com', 'bo@example.com']);
  assert.match(stderr, /read csv: interrupted, 2 rows in/);
});
