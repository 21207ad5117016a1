import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import type { Envelope } from '../../pipelines/record.ts';
import { csvSource } from '../../sources/csv.ts';
import { ndjsonSource } from '../../sources/ndjson.ts';
import { bin } from '../authpipe/cli.ts';
import { collect, contextIn, fileWith, tempDir } from './context.ts';

const CSV = 'id,email\nu1,ana@example.com\nu2,bo@example.com\n';

async function readCsv(name: string, content: Buffer) {
  const { dir, file } = fileWith(name, content);
  return collect(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
}

/** The envelopes a source gives before it stops with source.bad_gzip, which it must. */
async function readUntilBadGzip(envelopes: AsyncIterable<Envelope>): Promise<Envelope[]> {
  const read: Envelope[] = [];
  await assert.rejects(
    async () => {
      for await (const envelope of envelopes) read.push(envelope);
    },
    { code: 'source.bad_gzip' },
  );
  return read;
}

test('reads a gzip-compressed export as it streams, whatever its name', async () => {
  for (const name of ['users.csv.gz', 'users.csv']) {
    const envelopes = await readCsv(name, gzipSync(CSV));
    assert.deepEqual(
      envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
      [
        [2, { id: 'u1', email: 'ana@example.com' }],
        [3, { id: 'u2', email: 'bo@example.com' }],
      ],
    );
  }
  const { dir, file } = fileWith('users.ndjson.gz', gzipSync('{"email":"ana@example.com"}\n{"email":"bo@example.com"}\n'));
  const lines = await collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir)));
  assert.deepEqual(lines.map((envelope) => envelope.raw?.email), ['ana@example.com', 'bo@example.com']);
});

test('stops with source.bad_gzip naming the file when the gzip data is cut off', async () => {
  const compressed = gzipSync(CSV.repeat(50));
  await assert.rejects(readCsv('cut.csv.gz', compressed.subarray(0, compressed.length - 12)), {
    code: 'source.bad_gzip',
    message: 'cut.csv.gz: the gzip data cannot be read (unexpected end of file)',
  });
});

test('a gzip file cut off halfway gives every whole row before the cut, and its cut row as an error, then stops', async () => {
  const rows = Array.from({ length: 20_000 }, (_, index) => `u${index}@example.com,N${index}`);
  const compressed = gzipSync(['email,name', ...rows, ''].join('\n'));
  const cut = compressed.subarray(0, compressed.length / 2);
  const readable = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString().split('\n');
  const { dir, file } = fileWith('cut.csv.gz', cut);
  const read = await readUntilBadGzip(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
  // Every line before the last one readable is a whole row; the last one stops anywhere, and is never passed off as a row.
  const whole = readable.length - 2;
  assert.deepEqual(
    read.slice(0, -1).map((envelope) => envelope.raw?.email),
    rows.slice(0, whole).map((row) => row.split(',')[0]),
  );
  assert.deepEqual(read.at(-1)?.issues.map((issue) => issue.message), [`cut.csv.gz:${whole + 2}: the input failed inside this row (see the error that stopped the run), so what was read of it is left out`]);
});

test('an NDJSON gzip file cut off halfway gives every whole line before the cut, and its cut line as an error, then stops', async () => {
  const lines = Array.from({ length: 20_000 }, (_, index) => JSON.stringify({ email: `u${index}@example.com` }));
  const compressed = gzipSync([...lines, ''].join('\n'));
  const cut = compressed.subarray(0, compressed.length / 2);
  const readable = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString().split('\n');
  const { dir, file } = fileWith('cut.ndjson.gz', cut);
  const read = await readUntilBadGzip(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir)));
  const whole = readable.length - 1;
  assert.deepEqual(
    read.slice(0, -1).map((envelope) => envelope.raw?.email),
    lines.slice(0, whole).map((line) => (JSON.parse(line) as { email: string }).email),
  );
  assert.deepEqual(read.at(-1)?.issues.map((issue) => issue.message), [`cut.ndjson.gz:${whole + 1}: the input failed inside this line (see the error that stopped the run), so what was read of it is left out`]);
});

test('a gzip file cut inside a record whose quoted cell spans lines gives that record as an error, not as a row', async () => {
  const cut = gzipSync('email,name,note\na@example.com,Ana,x\nb@example.com,"Bo\nBoss",b@example.c', { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const { dir, file } = fileWith('cut.csv.gz', cut.subarray(0, cut.length - 8));
  const read = await readUntilBadGzip(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
  assert.deepEqual(
    read.map((envelope) => [envelope.raw?.email, envelope.issues.map((issue) => issue.code)]),
    [
      ['a@example.com', []],
      [undefined, ['csv.parse_error']],
    ],
  );
});

test('reads gzip padded with zeros after its end, as some tools write it', async () => {
  const envelopes = await readCsv('padded.csv.gz', Buffer.concat([gzipSync(CSV), Buffer.alloc(100_000)]));
  assert.deepEqual(envelopes.map((envelope) => envelope.raw?.id), ['u1', 'u2']);
});

test('an Excel workbook, a zip or another compression is refused at its first bytes, saying what to do, for every source', async () => {
  for (const [magic, says] of [
    [[0x50, 0x4b, 0x03, 0x04], /is a zip archive \(an Excel \.xlsx workbook is one too\): save it as CSV, or unzip it first/],
    [[0xd0, 0xcf, 0x11, 0xe0], /is an old Excel \(\.xls\) workbook: save it as CSV first/],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], /is xz-compressed: decompress it first/],
    [[0x42, 0x5a, 0x68, 0x39], /is bzip2-compressed/],
    [[0x28, 0xb5, 0x2f, 0xfd], /is zstd-compressed/],
  ] as const) {
    const content = Buffer.concat([Buffer.from(magic), Buffer.from('rest of the file\n')]);
    await assert.rejects(readCsv('users.csv', content), { code: 'source.unreadable_format', message: new RegExp(`users\\.csv ${says.source}`) });
    const { dir, file } = fileWith('users.ndjson', content);
    await assert.rejects(collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir))), { code: 'source.unreadable_format' });
  }
  // Text opening with those letters is text.
  assert.equal((await readCsv('users.csv', Buffer.from('BZ,email\nx,ana@example.com\n'))).length, 1);
});

test('tells gzip on stdin even when the pipe hands over its first byte alone', async () => {
  const child = spawn(process.execPath, [bin, 'read', 'csv', '-']);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const closed = once(child, 'close');
  const compressed = gzipSync(CSV);
  child.stdin.write(compressed.subarray(0, 1));
  await sleep(200);
  child.stdin.end(compressed.subarray(1));
  const [code] = (await closed) as [number | null];
  assert.equal(code, 0);
  assert.deepEqual(stdout.trim().split('\n').map((line) => (JSON.parse(line) as { raw: { id: string } }).raw.id), ['u1', 'u2']);
});

test('names a file by its path from the pipeline\'s folder, and one outside that folder by its absolute path', async () => {
  const { dir, file } = fileWith('users.csv', CSV);
  const inside = await collect(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
  assert.equal(inside[0].origin.file, 'users.csv');
  const elsewhere = await collect(csvSource.create(csvSource.options.parse({ path: file }), contextIn(tempDir())));
  assert.equal(elsewhere[0].origin.file, file);
  const dotted = fileWith('..users.csv', CSV);
  const named = await collect(csvSource.create(csvSource.options.parse({ path: dotted.file }), contextIn(dotted.dir)));
  assert.equal(named[0].origin.file, '..users.csv');
});

test('a file source says how much of its file it has read, gzip or not, for the progress line', async () => {
  // Far more than one read of the file: its first rows come while most of it is still unread.
  const large = `id,email\n${Array.from({ length: 100_000 }, (_, index) => `u${index},user${index}@example.com\n`).join('')}`;
  for (const [name, content] of [
    ['users.csv', Buffer.from(large)],
    ['users.csv.gz', gzipSync(large)],
  ] as const) {
    const { dir, file } = fileWith(name, content);
    const ctx = contextIn(dir);
    let shareAtFirstRow: number | undefined;
    for await (const { seq } of csvSource.create(csvSource.options.parse({ path: file }), ctx)) {
      if (seq === 1) shareAtFirstRow = ctx.runProgress.inputShare?.();
    }
    assert.ok(shareAtFirstRow !== undefined && shareAtFirstRow > 0 && shareAtFirstRow < 0.5, `${name}: ${shareAtFirstRow} read at the first row`);
    assert.equal(ctx.runProgress.inputShare?.(), 1, name);
  }
});
