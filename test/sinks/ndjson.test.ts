import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../../pipelines/record.ts';
import { ndjsonSink } from '../../sinks/ndjson.ts';
import { ndjsonSource } from '../../sources/ndjson.ts';
import { collect, contextIn, streamOf, tempDir } from '../sources/context.ts';

const mapped: Envelope = {
  seq: 1,
  key: 'ext:user_1',
  origin: { file: 'users.csv', line: 2 },
  user: { email: 'ana@example.com', emailVerified: true, externalId: 'user_1', orgs: [{ externalId: 'acme', roles: ['admin'] }] },
  raw: { id: 'user_1', primary_email_address: 'ana@example.com' },
  issues: [{ stage: 'validate', code: 'name.missing', level: 'warning', message: 'users.csv:2: no name' }],
};
const invalid: Envelope = {
  seq: 2,
  key: 'seq:2',
  origin: { file: 'users.csv', line: 3 },
  user: { email: 'not-an-email' },
  raw: { id: 'user_2' },
  issues: [{ stage: 'validate', code: 'email.invalid', level: 'error', message: 'users.csv:3: bad email' }],
};

async function writeNdjson(envelopes: Envelope[], options: Record<string, unknown> = {}) {
  const dir = tempDir();
  const file = path.join(dir, 'out.ndjson');
  const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: file, ...options }), contextIn(dir));
  const result = await writer(streamOf(envelopes));
  return { dir, file, result };
}

test('writes envelopes the ndjson source reads back unchanged, without their raw record', async () => {
  const { dir, file } = await writeNdjson([mapped]);
  const withoutRaw = { ...mapped };
  delete withoutRaw.raw;
  assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(withoutRaw)}\n`);
  assert.deepEqual(await collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir))), [withoutRaw]);
});

test('keeps the raw record when asked', async () => {
  const { file } = await writeNdjson([mapped], { keepRaw: true });
  assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(mapped)}\n`);
});

test('keeps the record of a row no map stage has been through, which is all there is of it (read csv | write ndjson, to map later)', async () => {
  const unmapped: Envelope = { seq: 3, key: 'seq:3', origin: { file: 'users.csv', line: 4 }, user: {}, raw: { email: 'cy@example.com' }, issues: [] };
  const { file } = await writeNdjson([unmapped]);
  assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(unmapped)}\n`);
});

test('leaves out rows with an error issue', async () => {
  const { file, result } = await writeNdjson([invalid, mapped, invalid]);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  assert.deepEqual(
    readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as Envelope).seq),
    [1],
  );
});

test('writes all of 100,000 rows to a file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'large.ndjson');
  async function* many(): AsyncGenerator<Envelope> {
    for (let seq = 1; seq <= 100_000; seq++) yield { seq, key: `seq:${seq}`, origin: {}, user: { email: `u${seq}@example.com` }, issues: [] };
  }
  const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: file }), contextIn(dir));
  assert.deepEqual(await writer(many()), { written: 100_000, failed: 0, skipped: 0 });
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 100_001);
  assert.equal(lines[99_999], '{"seq":100000,"key":"seq:100000","origin":{},"user":{"email":"u100000@example.com"},"issues":[]}');
});

test('stops pulling records while a slow reader has not caught up', async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'slow.ndjson');
  execFileSync('mkfifo', [fifo]);
  const total = 20_000;
  let produced = 0;
  let consumed = 0;
  let mostAhead = 0;
  async function* records(): AsyncGenerator<Envelope> {
    for (let seq = 1; seq <= total; seq++) {
      mostAhead = Math.max(mostAhead, produced - consumed);
      produced++;
      yield { seq, key: `seq:${seq}`, origin: {}, user: { email: `u${seq}@example.com` }, issues: [] };
    }
  }
  async function readSlowly(): Promise<void> {
    for await (const chunk of createReadStream(fifo, { highWaterMark: 4096 })) {
      for (const byte of chunk as Buffer) if (byte === 10) consumed++;
      await sleep(1);
    }
  }
  const writer = await ndjsonSink.create(ndjsonSink.options.parse({ path: fifo }), contextIn(dir));
  const [result] = await Promise.all([writer(records()), readSlowly()]);
  assert.deepEqual(result, { written: total, failed: 0, skipped: 0 });
  assert.equal(consumed, total);
  assert.ok(mostAhead < total / 5, `the writer ran ${mostAhead} records ahead of the reader`);
});
