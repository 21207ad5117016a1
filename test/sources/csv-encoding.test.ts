import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import { csvSource } from '../../sources/csv.ts';
import { collect, contextIn, fileWith } from './context.ts';

async function readCsv(content: Buffer, options: Record<string, unknown> = {}) {
  const { dir, file } = fileWith('users.csv', content);
  return collect(csvSource.create(csvSource.options.parse({ path: file, ...options }), contextIn(dir)));
}

/** What Excel's "Unicode text" and many Windows tools write: UTF-16LE after a byte order mark. */
function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

test('reads a UTF-16LE file by its byte order mark, counting each CRLF as one line', async () => {
  const envelopes = await readCsv(utf16le('id,email,name\r\nu1,ana@example.com,Zoë\r\nu2,"bo@example.com","Bo\r\nJr"\r\nu3,cy@example.com,Çelik\r\n'));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [2, { id: 'u1', email: 'ana@example.com', name: 'Zoë' }, []],
      [3, { id: 'u2', email: 'bo@example.com', name: 'Bo\r\nJr' }, []],
      [5, { id: 'u3', email: 'cy@example.com', name: 'Çelik' }, []],
    ],
  );
});

test('decodes characters of a UTF-16 file that straddle read chunks', async () => {
  // Mostly characters outside the BMP: two UTF-16 units each, so chunk boundaries fall between their halves.
  const name = (index: number) => `Zoë ${'😀'.repeat(20)} ${index}`;
  const rows = Array.from({ length: 20000 }, (_, index) => `u${index},user${index}@example.com,${name(index)}`);
  const text = ['id,email,name', ...rows].join('\n');
  assert.ok(text.length * 2 > 4 * 64 * 1024, 'the file spans several 64 KiB read chunks');
  const envelopes = await readCsv(utf16le(text));
  assert.equal(envelopes.length, 20000);
  assert.deepEqual(
    envelopes.filter((envelope, index) => envelope.raw?.name !== name(index) || envelope.origin.line !== index + 2),
    [],
  );
});

test('reads a Windows-1252 export when told its encoding', async () => {
  const envelopes = await readCsv(Buffer.from('email,name\nrene@example.com,Ren\xe9 \x80\n', 'latin1'), { encoding: 'windows-1252' });
  assert.deepEqual(envelopes[0].raw, { email: 'rene@example.com', name: 'René €' });
  assert.deepEqual(envelopes[0].issues, []);
});

test('a UTF-8 file read as Windows-1252 (a pipeline set up for last month\'s export) is said to be UTF-8; a Windows-1252 one is not', async () => {
  for (const [bytes, said] of [
    [Buffer.from('email,name\njose@example.com,José Müller\n', 'utf8'), ['warning: users.csv: read as windows-1252 as the source\'s encoding says, but its bytes are UTF-8 (é reads as Ã©): if the file was saved as UTF-8, leave the encoding unset\n']],
    [Buffer.from('email,name\njose@example.com,José Müller\n', 'latin1'), []],
  ] as const) {
    const { dir, file } = fileWith('users.csv', bytes);
    const lines: string[] = [];
    const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(lines.push(line)) }) };
    await collect(csvSource.create(csvSource.options.parse({ path: file, encoding: 'windows-1252' }), ctx));
    assert.deepEqual(lines, said);
  }
});

test('a row with bytes that are not UTF-8 is an error naming file, line and the fix, and the rows around it go on', async () => {
  const envelopes = await readCsv(Buffer.from('email,name\nana@example.com,Ana\nrene@example.com,Ren\xe9\ncy@example.com,Cy\n', 'latin1'));
  assert.deepEqual(
    envelopes.map((envelope) => envelope.issues.map((issue) => issue.code)),
    [[], ['csv.undecodable'], []],
  );
  assert.equal(
    envelopes[1].issues[0].message,
    "users.csv:3: has bytes that are not utf-8 (read as U+FFFD); if the file was saved in another encoding, set the source's encoding (e.g. windows-1252)",
  );
});

test('a U+FFFD a UTF-8 file holds itself (a name mangled before the export) is text, also beside characters split between reads', async () => {
  // The file is read 64 KiB at a time: the padding puts an é's two bytes on either side of the first read's end.
  const padding = `pad@example.com,${'x'.repeat(65_536 - 'email,name\n'.length - 'pad@example.com,'.length - 1)}é\n`;
  const envelopes = await readCsv(Buffer.from(`email,name\n${padding}jose@example.com,Jos\ufffd\n`, 'utf8'));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw?.name === undefined ? '' : String(envelope.raw.name).slice(-2), envelope.issues]),
    [
      ['xé', []],
      ['s\ufffd', []],
    ],
  );
});

test('a UTF-16 file without a byte order mark stops the run naming the encoding to set, and reads when it is set', async () => {
  const content = Buffer.from('email,name\r\nana@example.com,Ana\r\n', 'utf16le');
  await assert.rejects(readCsv(content), {
    code: 'csv.wrong_encoding',
    message:
      "users.csv:1: the header row holds NUL characters, as a UTF-16 file without a byte order mark read as utf-8 does; set the source's encoding (--encoding utf-16le, or utf-16be)",
  });
  assert.deepEqual((await readCsv(content, { encoding: 'utf-16le' })).map((envelope) => envelope.raw), [{ email: 'ana@example.com', name: 'Ana' }]);
});

test('an encoding no decoder knows is refused before any row is read', () => {
  const result = csvSource.options.safeParse({ path: 'users.csv', encoding: 'klingon' });
  assert.equal(result.success, false);
  assert.match(result.error?.issues[0]?.message ?? '', /unknown encoding "klingon"; try utf-8, windows-1252, latin1 or utf-16le/);
});
