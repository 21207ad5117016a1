import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { tempDir } from '../sources/context.ts';
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

/** A pipeline from stdin (left open) to out.ndjson, run with `flags` and sent SIGINT once it is under way. */
async function interruptedRun(...flags: string[]): Promise<{ dir: string; pipeline: string; code: number | null; stderr: string }> {
  const dir = tempDir();
  const pipeline = path.join(dir, 'stdin.yaml');
  writeFileSync(pipeline, 'version: 1\nname: stdin\nsource: { use: csv, path: "-" }\nsink: { use: ndjson, path: out.ndjson }\n');
  const child = spawn(process.execPath, [bin, 'run', pipeline, ...flags], { cwd: root });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.write('email\nana@example.com\nbo@example.com\n');
  // The sink writes beside its file until it is done: once that file is there, the run is under way.
  while (!readdirSync(dir).some((name) => name.startsWith('.out.ndjson.'))) await sleep(10);
  child.kill('SIGINT');
  const [code] = (await once(child, 'close')) as [number | null];
  return { dir, pipeline, code, stderr };
}

test('an interrupted pipeline run says how to resume with its whole command line, flags included', async () => {
  const { dir, pipeline, code, stderr } = await interruptedRun('--set', 'name=my run', '--quiet');
  assert.equal(code, 130);
  assert.ok(existsSync(path.join(dir, 'out.ndjson.partial')));
  assert.ok(stderr.includes(`warning: interrupted; to resume, run the same command again: authpipe run ${pipeline} --set 'name=my run' --quiet\n`), stderr);
});

test('SIGINT while the rows read before a broken input finish is an interruption: exit 130, how to resume, and the fault', async () => {
  const dir = tempDir();
  const records = Array.from({ length: 20 }, (_, index) => `{"email":"user${index}@example.com","id":"u${index}"}`);
  writeFileSync(path.join(dir, 'cut.json'), `[${records.join(',\n')},\n{"email":`);
  const pipeline = path.join(dir, 'cut.yaml');
  writeFileSync(
    pipeline,
    'version: 1\nname: cut\nsource: { use: json, path: cut.json }\nstages: [{ use: map, fields: { email: email, externalId: id } }]\n' +
      'sink: { use: workos, baseUrl: embedded, apiKey: sk_test_signals, rate: 2/1s, concurrency: 25 }\nledger: cut.db\n',
  );
  const child = spawn(process.execPath, [bin, 'run', pipeline], { cwd: root });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // The sink takes all 20 rows at once (25 at a time), so the source meets the fault at once; writing them takes 10 s.
  while (!stderr.includes('workos: writing to')) await once(child.stderr, 'data');
  await sleep(1000);
  child.kill('SIGINT');
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 130, stderr);
  assert.match(stderr, /warning: the input failed before the stop: cut\.json:21:10: not valid JSON/);
  assert.match(stderr, /warning: interrupted; to resume, run the same command again: authpipe run /);
});

test('with --json, an interrupted run says how to resume before the JSON summary, which stays the last line', async () => {
  const { code, stderr } = await interruptedRun('--json');
  assert.equal(code, 130);
  const lines = stderr.trim().split('\n');
  assert.match(lines.at(-2) ?? '', /^warning: interrupted; to resume, run the same command again: authpipe run /);
  assert.equal((JSON.parse(lines.at(-1) ?? '') as { interrupted: boolean }).interrupted, true);
});

test('what a run killed with SIGKILL left beside its output (rows that may hold hashes) is removed by the next run writing that file', async () => {
  const dir = tempDir();
  const killed = spawn(process.execPath, [bin, 'write', 'ndjson', 'out.ndjson'], { cwd: dir });
  killed.stdin.write('{"email":"ana@example.com"}\n');
  // The sink writes beside its file until it is done: once that file is there, the run is under way.
  while (!readdirSync(dir).some((name) => name.startsWith('.out.ndjson.'))) await sleep(10);
  killed.kill('SIGKILL');
  await once(killed, 'close');
  const [left] = readdirSync(dir);
  assert.match(left, /^\.out\.ndjson\.authpipe-\d+-[\da-f]+$/);

  const next = spawn(process.execPath, [bin, 'write', 'ndjson', 'out.ndjson'], { cwd: dir });
  let stderr = '';
  next.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  next.stdin.end('{"email":"bo@example.com"}\n');
  const [code] = (await once(next, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.deepEqual(readdirSync(dir), ['out.ndjson']);
  assert.ok(stderr.includes(`removed ${path.join(dir, left)}, what a run killed while writing ${path.join(dir, 'out.ndjson')} had written`), stderr);
});
