import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../../pipelines/log.ts';
import { csvSource } from '../../sources/csv.ts';
import { ndjsonSource } from '../../sources/ndjson.ts';
import { collect, contextIn, fileWith } from './context.ts';

const LINES = Array.from({ length: 20_000 }, (_, index) => JSON.stringify({ email: `u${index}@example.com`, note: 'x'.repeat(100) }));
const NDJSON = `${LINES.join('\n')}\n`;

/** The emails an NDJSON file gives, and what was said while reading it. */
async function readNdjson(content: Buffer): Promise<{ emails: unknown[]; said: string[] }> {
  const { dir, file } = fileWith('users.ndjson.gz', content);
  const said: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(said.push(line)) }) };
  const envelopes = await collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), ctx));
  return { emails: envelopes.map((envelope) => envelope.raw?.email), said };
}

const allEmails = LINES.map((line) => (JSON.parse(line) as { email: string }).email);

test('bytes after the end of the gzip data that are not gzip are left unread and told of, once every row before them is read', async () => {
  const { emails, said } = await readNdjson(Buffer.concat([gzipSync(NDJSON), Buffer.from('GARBAGE\n')]));
  assert.deepEqual(emails, allEmails);
  assert.deepEqual(said, ['warning: users.ndjson.gz: the bytes after the end of its gzip data are not gzip; they are left unread (every row before them is read)\n']);

  const { dir, file } = fileWith('small.csv.gz', Buffer.concat([gzipSync('email,id\na@example.com,1\nb@example.com,2\n'), Buffer.from('junk')]));
  const rows = await collect(csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir)));
  assert.deepEqual(rows.map((envelope) => envelope.raw?.email), ['a@example.com', 'b@example.com']);
});

test('members written one after another (cat a.gz b.gz), then zeros, are all read, and nothing is said', async () => {
  const half = NDJSON.indexOf('\n', NDJSON.length / 2) + 1;
  const { emails, said } = await readNdjson(Buffer.concat([gzipSync(NDJSON.slice(0, half)), gzipSync(NDJSON.slice(half)), Buffer.alloc(4096)]));
  assert.deepEqual(emails, allEmails);
  assert.deepEqual(said, []);
});

test('a member header with the file name, a comment and extra fields (gzip -N, other tools) is read past', async () => {
  const plain = gzipSync('{"email":"ana@example.com"}\n');
  const extra = Buffer.from([4, 0, 0x41, 0x42, 0x43, 0x44]);
  const header = Buffer.concat([plain.subarray(0, 3), Buffer.from([plain[3] | 4 | 8 | 16]), plain.subarray(4, 10), extra, Buffer.from('users.ndjson\0exported by a tool\0')]);
  const { emails } = await readNdjson(Buffer.concat([header, plain.subarray(10)]));
  assert.deepEqual(emails, ['ana@example.com']);
});

test('a member whose data does not match its checksum stops the run with source.bad_gzip', async () => {
  const compressed = gzipSync('{"email":"ana@example.com"}\n');
  compressed.writeUInt32LE((compressed.readUInt32LE(compressed.length - 8) + 1) >>> 0, compressed.length - 8);
  await assert.rejects(readNdjson(compressed), { code: 'source.bad_gzip', message: 'users.ndjson.gz: the gzip data cannot be read (the data does not match its checksum)' });
});
