import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import type { Envelope } from '../../pipelines/record.ts';
import { csvSink } from '../../sinks/csv.ts';
import { ndjsonSink } from '../../sinks/ndjson.ts';
import { ndjsonSource } from '../../sources/ndjson.ts';
import { validateStage } from '../../stages/validate.ts';
import { contextIn, streamOf, tempDir } from '../sources/context.ts';

const HASH = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';

function row(seq: number, email: string): Envelope {
  return { seq, key: `seq:${seq}`, origin: { file: 'users.csv', line: seq + 1 }, user: { email, passwordHash: HASH, passwordHashType: 'bcrypt' }, raw: { id: `user_${seq}`, email }, issues: [] };
}

/** Rows as the validate stage leaves them: what it finds wrong is on the row. */
async function* validated(rows: Envelope[], dir: string): AsyncGenerator<Envelope> {
  yield* (await validateStage.create(validateStage.options.parse({}), contextIn(dir)))(streamOf(rows));
}

function lines(file: string): Envelope[] {
  const text = readFileSync(file, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as Envelope);
}

const input = [row(1, 'ana@example.com'), row(2, 'bob@@example.com'), row(3, 'cy@example.com'), row(4, '')];

test('the rows a file sink leaves out are kept whole in its rejects file, which only its owner can read', async () => {
  const dir = tempDir();
  const rejects = path.join(dir, 'rejects.ndjson');
  const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: path.join(dir, 'valid.ndjson'), rejects }), contextIn(dir));
  assert.deepEqual(await writer(validated(input, dir)), { written: 2, failed: 0, skipped: 0 });

  const kept = lines(rejects);
  assert.deepEqual(
    kept.map((envelope) => [envelope.seq, envelope.origin.line, envelope.raw, envelope.user.passwordHash, envelope.issues.map((issue) => `${issue.level} ${issue.code}`)]),
    [
      [2, 3, { id: 'user_2', email: 'bob@@example.com' }, HASH, ['error email.invalid', 'warning replay.not_validated']],
      [4, 5, { id: 'user_4', email: '' }, HASH, ['error email.missing', 'warning replay.not_validated']],
    ],
  );
  assert.equal(statSync(rejects).mode & 0o777, 0o600);
  assert.deepEqual(lines(path.join(dir, 'valid.ndjson')).map((envelope) => envelope.seq), [1, 3]);
});

test('rejected rows fixed by hand pass validate and are written; unfixed, or not validated again, they stay out', async () => {
  const dir = tempDir();
  const rejects = path.join(dir, 'rejects.ndjson');
  await (await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'import.csv'), rejects }), contextIn(dir)))(validated(input, dir));
  const fixed = path.join(dir, 'fixed.ndjson');
  writeFileSync(fixed, readFileSync(rejects, 'utf8').replace('bob@@example.com', 'bob@example.com'));

  const again = async (validate: boolean) => {
    const ctx = contextIn(dir);
    const read = ndjsonSource.create(ndjsonSource.options.parse({ path: fixed }), ctx);
    const rows = validate ? (await validateStage.create(validateStage.options.parse({}), ctx))(read) : read;
    const out = path.join(dir, 'again.ndjson');
    const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: out }), ctx);
    await writer(rows);
    return lines(out).map((envelope) => envelope.user.email);
  };
  assert.deepEqual(await again(true), ['bob@example.com']);
  // The errors of the last check still hold until validate checks the row again.
  assert.deepEqual(await again(false), []);
});

test('a run with nothing to leave out replaces the rejects file of an earlier run, whose rows are no longer rejected', async () => {
  const dir = tempDir();
  const rejects = path.join(dir, 'rejects.ndjson');
  writeFileSync(rejects, `${JSON.stringify(row(9, 'old@@example.com'))}\n`, { mode: 0o600 });
  await (await ndjsonSink.create(ndjsonSink.options.parse({ path: path.join(dir, 'valid.ndjson'), rejects }), contextIn(dir)))(streamOf([row(1, 'ana@example.com')]));
  assert.equal(readFileSync(rejects, 'utf8'), '');
});

test('a sink whose input fails leaves no rejects file behind, nor its stand-in', async () => {
  const dir = tempDir();
  async function* failing(): AsyncGenerator<Envelope> {
    yield* validated([row(2, 'bob@@example.com')], dir);
    throw new Error('disk gone');
  }
  const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: path.join(dir, 'valid.ndjson'), rejects: path.join(dir, 'rejects.ndjson') }), contextIn(dir));
  await assert.rejects(writer(failing()), /disk gone/);
  assert.deepEqual(readdirSync(dir), []);
});

test('without a rejects file, the sink says how many rows it left out and how to keep them', async () => {
  const dir = tempDir();
  const said: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(said.push(line)) }) };
  await (await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'import.csv') }), ctx))(validated(input, dir));
  assert.ok(said.includes("2 invalid rows were left out: the sink's `rejects` option (`--rejects FILE` for `write`) keeps them in a file to fix\n"), said.join(''));
  assert.deepEqual(readdirSync(dir), ['import.csv']);
});

test('a rejects file that is the output itself, or stdout beside stdout, is refused before a row is read: one would replace the other', async () => {
  const dir = tempDir();
  const out = path.join(dir, 'out.ndjson');
  for (const [output, rejects] of [
    [out, out],
    ['-', '-'],
    ['-', '/dev/stdout'],
    ['/dev/stdout', '-'],
  ]) {
    assert.throws(() => ndjsonSink.create(ndjsonSink.options.parse({ path: output, rejects }), contextIn(dir)), { code: 'sink.rejects_is_output' });
  }
  // Rows thrown away twice replace nothing.
  assert.doesNotThrow(() => ndjsonSink.create(ndjsonSink.options.parse({ path: '/dev/null', rejects: '/dev/null' }), contextIn(dir)));
  assert.deepEqual(readdirSync(dir), []);
});
