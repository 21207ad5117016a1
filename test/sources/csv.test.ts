import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import { csvSource } from '../../sources/csv.ts';
import { collect, contextIn, fileWith } from './context.ts';

async function readCsv(content: string | Buffer, options: Record<string, unknown> = {}) {
  const { dir, file } = fileWith('users.csv', content);
  return collect(csvSource.create(csvSource.options.parse({ path: file, ...options }), contextIn(dir)));
}

test('names each cell by the header row and numbers records from 1 with the line they start on', async () => {
  const envelopes = await readCsv('id,email\nu1,ana@example.com\nu2,bo@example.com\n');
  assert.deepEqual(envelopes, [
    { seq: 1, key: 'seq:1', origin: { file: 'users.csv', line: 2 }, user: {}, raw: { id: 'u1', email: 'ana@example.com' }, issues: [] },
    { seq: 2, key: 'seq:2', origin: { file: 'users.csv', line: 3 }, user: {}, raw: { id: 'u2', email: 'bo@example.com' }, issues: [] },
  ]);
});

test('drops a UTF-8 byte order mark so the first column keeps its plain name', async () => {
  const envelopes = await readCsv(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('email,name\nana@example.com,Ana\n')]));
  assert.deepEqual(envelopes[0].raw, { email: 'ana@example.com', name: 'Ana' });
});

test('reads CRLF line endings without leaving a carriage return in the last cell', async () => {
  const envelopes = await readCsv('email,name\r\nana@example.com,Ana\r\nbo@example.com,Bo\r\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
    [
      [2, { email: 'ana@example.com', name: 'Ana' }],
      [3, { email: 'bo@example.com', name: 'Bo' }],
    ],
  );
});

test('ends a record at every line ending when a file mixes CRLF, LF and CR', async () => {
  const envelopes = await readCsv('email,name\r\nana@example.com,Ana\r\nbo@example.com,Bo\ncy@example.com,Cy\rdi@example.com,Di\r\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [2, { email: 'ana@example.com', name: 'Ana' }, []],
      [3, { email: 'bo@example.com', name: 'Bo' }, []],
      [4, { email: 'cy@example.com', name: 'Cy' }, []],
      [5, { email: 'di@example.com', name: 'Di' }, []],
    ],
  );
});

test('keeps a comma inside a quoted cell', async () => {
  const envelopes = await readCsv('email,name\nana@example.com,"Silva, Ana"\n');
  assert.deepEqual(envelopes[0].raw, { email: 'ana@example.com', name: 'Silva, Ana' });
});

test('gives a record with a quoted line break the line it starts on, and the next record its true line', async () => {
  const envelopes = await readCsv('email,note\nana@example.com,"first\nsecond\nthird"\nbo@example.com,plain\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
    [
      [2, { email: 'ana@example.com', note: 'first\nsecond\nthird' }],
      [5, { email: 'bo@example.com', note: 'plain' }],
    ],
  );
});

test('counts a quoted CRLF line break as one line', async () => {
  const envelopes = await readCsv('email,note\r\nana@example.com,"first\r\nsecond"\r\nbo@example.com,plain\r\n');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.origin.line),
    [2, 4],
  );
  assert.equal(envelopes[0].raw?.note, 'first\r\nsecond');
});

test('skips blank lines without giving them a sequence number, and keeps counting their lines', async () => {
  const envelopes = await readCsv('\nemail\n\nana@example.com\n   \n\nbo@example.com\n\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.origin.line, envelope.raw?.email]),
    [
      [1, 4, 'ana@example.com'],
      [2, 7, 'bo@example.com'],
    ],
  );
});

test('keeps unicode names intact', async () => {
  const envelopes = await readCsv('email,first_name,last_name\nzoe@example.com,Zoë,Ñúñez\nli@example.com,李,小龍 🐉\n');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.raw),
    [
      { email: 'zoe@example.com', first_name: 'Zoë', last_name: 'Ñúñez' },
      { email: 'li@example.com', first_name: '李', last_name: '小龍 🐉' },
    ],
  );
});

test('names the cells of a headerless file with the given columns, from line 1', async () => {
  const envelopes = await readCsv('kYi4,user1@test.com,false\nx9Q2,user2@test.com,true\n', { columns: ['localId', 'email', 'emailVerified'] });
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
    [
      [1, { localId: 'kYi4', email: 'user1@test.com', emailVerified: 'false' }],
      [2, { localId: 'x9Q2', email: 'user2@test.com', emailVerified: 'true' }],
    ],
  );
});

test('takes the columns as text with commas too (as typed after --columns), and refuses a name given twice, which would lose a cell', async () => {
  const envelopes = await readCsv('kYi4,user1@test.com\n', { columns: 'localId, email' });
  assert.deepEqual(envelopes[0].raw, { localId: 'kYi4', email: 'user1@test.com' });
  for (const columns of [['a', 'a', 'b'], 'a,b,a']) {
    const parsed = csvSource.options.safeParse({ columns });
    assert.equal(parsed.error?.issues[0].message, 'a column is named twice: "a"', JSON.stringify(columns));
  }
});

test('splits cells on another delimiter when asked', async () => {
  const envelopes = await readCsv('email;name\nana@example.com;Silva, Ana\n', { delimiter: ';' });
  assert.deepEqual(envelopes[0].raw, { email: 'ana@example.com', name: 'Silva, Ana' });
});

test('takes `tab` or `\\t` as typed in a shell or YAML for a tab delimiter', async () => {
  for (const delimiter of ['tab', '\\t', '\t']) {
    const envelopes = await readCsv('email\tname\nana@example.com\tSilva, Ana\n', { delimiter });
    assert.deepEqual(envelopes[0].raw, { email: 'ana@example.com', name: 'Silva, Ana' }, JSON.stringify(delimiter));
  }
});

test('refuses a delimiter that would split cells of their own text: letters, digits, a quote, a line break', () => {
  for (const delimiter of ['ab', 'x', '7', '"', 'é', '\n', '|x|']) {
    const parsed = csvSource.options.safeParse({ delimiter });
    assert.equal(parsed.success, false, delimiter);
    assert.match(parsed.error?.issues[0]?.message ?? '', /cannot separate cells: give characters that are not letters, digits, quotes or line breaks/);
  }
  assert.equal(csvSource.options.safeParse({ delimiter: '' }).success, false);
  for (const delimiter of [',', ';', '|', '||', 'tab', '\\t', ' ', ':']) assert.equal(csvSource.options.safeParse({ delimiter }).success, true, delimiter);
});

test("takes Excel's first line `sep=;` for the delimiter, not for a row or the header, and keeps the lines after it", async () => {
  for (const [separator, options] of [[';', {}], [',', { delimiter: ';' }], ['\t', {}], ['|', {}]] as const) {
    const content = `sep=${separator}\r\nemail${separator}name\r\nana@example.com${separator}"Silva${separator === ',' ? ';' : ','} Ana"\r\n`;
    const envelopes = await readCsv(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(content)]), options);
    assert.deepEqual(
      envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
      [[3, { email: 'ana@example.com', name: separator === ',' ? 'Silva; Ana' : 'Silva, Ana' }, []]],
      JSON.stringify(separator),
    );
  }
});

test('a header row again (exports joined with cat) is skipped, and one with its columns in another order names the rows after it', async () => {
  const { dir, file } = fileWith(
    'users.csv',
    'id,email,name\nu1,ana@example.com,Ana\nid,email,name\nu2,bo@example.com,Bo\n\uFEFFemail,name,id\ncy@example.com,Cy,u3\n',
  );
  const said: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(said.push(line)) }) };
  const envelopes = await collect(csvSource.create(csvSource.options.parse({ path: file }), ctx));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [1, 2, { id: 'u1', email: 'ana@example.com', name: 'Ana' }, []],
      [2, 4, { id: 'u2', email: 'bo@example.com', name: 'Bo' }, []],
      [3, 6, { email: 'cy@example.com', name: 'Cy', id: 'u3' }, []],
    ],
  );
  assert.deepEqual(said, [
    'warning: users.csv:3: the header row again (files joined?); it is skipped\n',
    'warning: users.csv:5: the header row again, with its columns in another order (exports joined?); the rows after it are read by it\n',
  ]);
  // A user whose cells happen to hold a column name is a user.
  const named = await readCsv('id,email,name\nemail,ana@example.com,Ana\n');
  assert.deepEqual(named[0].raw, { id: 'email', email: 'ana@example.com', name: 'Ana' });
});

test('keeps exact start lines across many read chunks of a large file with multi-line cells', async () => {
  const lines: string[] = ['email,note'];
  const expectedStarts: number[] = [];
  let nextLine = 2;
  for (let index = 0; index < 12000; index++) {
    expectedStarts.push(nextLine);
    const multiLine = index % 3 === 0;
    lines.push(multiLine ? `u${index}@example.com,"line one\r\nline two"` : `u${index}@example.com,single`);
    nextLine += multiLine ? 2 : 1;
  }
  const text = lines.join('\r\n');
  assert.ok(text.length > 3 * 64 * 1024, 'the file spans several 64 KiB read chunks');
  const envelopes = await readCsv(text);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.origin.line),
    expectedStarts,
  );
  assert.equal(envelopes.at(-1)?.raw?.email, 'u11999@example.com');
});

test('keeps every cell of rows far wider than usual, header included', async () => {
  const width = 40_000;
  const row = (prefix: string) => Array.from({ length: width }, (_, index) => `${prefix}${index}`).join(',');
  const [envelope] = await readCsv(`${row('c')}\n${row('v')}\n`);
  assert.equal(Object.keys(envelope.raw ?? {}).length, width);
  assert.equal(envelope.raw?.c39999, 'v39999');
  assert.deepEqual(envelope.issues, []);
});

test('fails with source.file_not_found naming the file when it does not exist', async () => {
  const { dir } = fileWith('other.csv', '');
  await assert.rejects(collect(csvSource.create(csvSource.options.parse({ path: `${dir}/missing.csv` }), contextIn(dir))), {
    code: 'source.file_not_found',
    message: `input file not found: ${dir}/missing.csv`,
  });
});

test('stops reading when the run is interrupted', async () => {
  const { dir, file } = fileWith('users.csv', `email\n${Array.from({ length: 20000 }, (_, index) => `u${index}@example.com`).join('\n')}\n`);
  const controller = new AbortController();
  let read = 0;
  for await (const envelope of csvSource.create(csvSource.options.parse({ path: file }), contextIn(dir, controller.signal))) {
    assert.equal(envelope.seq, read + 1);
    read++;
    controller.abort();
  }
  assert.equal(read, 1);
});
