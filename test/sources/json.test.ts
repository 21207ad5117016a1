import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import { jsonSource } from '../../sources/json.ts';
import { collect, contextIn, fileWith } from './context.ts';

function readJson(content: string | Buffer, key?: string) {
  const { dir, file } = fileWith('export.json', content);
  return collect(jsonSource.create(jsonSource.options.parse({ path: file, key }), contextIn(dir)));
}

test('streams the elements of a top-level array as raw records named by their index', async () => {
  const envelopes = await readJson('[{"email":"ana@example.com"},{"email":"bo@example.com"}]');
  assert.deepEqual(envelopes, [
    { seq: 1, key: 'seq:1', origin: { file: 'export.json', page: '[0]' }, user: {}, raw: { email: 'ana@example.com' }, issues: [] },
    { seq: 2, key: 'seq:2', origin: { file: 'export.json', page: '[1]' }, user: {}, raw: { email: 'bo@example.com' }, issues: [] },
  ]);
});

test('streams the array under `users`, ignoring the other keys of the document', async () => {
  const envelopes = await readJson(
    '{"kind":"identitytoolkit#DownloadAccountResponse","users":[{"localId":"kYi4","email":"user1@test.com","emailVerified":false}],"nextPageToken":"x"}',
    'users',
  );
  assert.deepEqual(envelopes, [
    {
      seq: 1,
      key: 'seq:1',
      origin: { file: 'export.json', page: 'users[0]' },
      user: {},
      raw: { localId: 'kYi4', email: 'user1@test.com', emailVerified: false },
      issues: [],
    },
  ]);
});

test('follows a dotted key to a nested array', async () => {
  const envelopes = await readJson('{"data":{"meta":{"users":[{"n":0}]},"users":[{"n":1},{"n":2}]}}', 'data.users');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.page, envelope.raw]),
    [
      ['data.users[0]', { n: 1 }],
      ['data.users[1]', { n: 2 }],
    ],
  );
});

test('keeps an integer past 2^53 as its exact text, so a numeric id is not rounded into another one; other numbers stay numbers', async () => {
  const envelopes = await readJson('[{"id":1234567890123456789,"n":1.50,"meta":{"n":0,"list":["a",2,null]}},{"id":-1234567890123456790,"age":30}]');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.raw),
    [
      { id: '1234567890123456789', n: 1.5, meta: { n: 0, list: ['a', 2, null] } },
      { id: '-1234567890123456790', age: 30 },
    ],
  );
  // Whole numbers past 2^53 written as floats (pandas) keep their text too, for validate to see what they are.
  const floats = await readJson('[{"id":12345678901234567890.0,"big":1.2345678901234567e18,"small":2.5e3}]');
  assert.deepEqual(floats[0]?.raw, { id: '12345678901234567890.0', big: '1.2345678901234567e18', small: 2500 });
});

test('gives an element that is not an object an error issue and goes on', async () => {
  const envelopes = await readJson('{"users":[{"n":1},"ana@example.com",null,{"n":4}]}', 'users');
  assert.deepEqual(envelopes[1].issues, [
    { stage: 'json', code: 'json.not_an_object', level: 'error', message: 'export.json users[1]: the element is a string, not an object' },
  ]);
  assert.equal(envelopes[2].issues[0].message, 'export.json users[2]: the element is null, not an object');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.issues.length]),
    [
      [1, 0],
      [2, 1],
      [3, 1],
      [4, 0],
    ],
  );
});

test('an element nested thousands deep is an error row without its value (a sink could not write it); the rest are read', async () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  const envelopes = await readJson(`{"users":[{"n":1},{"n":2,"notes":${deep}},{"n":3}]}`, 'users');
  assert.deepEqual(envelopes[1].issues, [
    { stage: 'json', code: 'json.too_deep', level: 'error', message: 'export.json users[1]: the element nests values more than 64 deep' },
  ]);
  assert.deepEqual(envelopes[1].raw, {});
  assert.deepEqual(
    envelopes.map((envelope) => envelope.raw),
    [{ n: 1 }, {}, { n: 3 }],
  );
});

test('an element with bytes that are not UTF-8 is an error row without its value; the rest are read', async () => {
  const envelopes = await readJson(Buffer.concat([Buffer.from('[{"name":"Jos'), Buffer.from([0xe9]), Buffer.from('"},{"name":"Ana"}]')]));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw, envelope.issues.map((issue) => issue.message)]),
    [
      [{}, ['export.json [0]: the element has bytes that are not UTF-8 (read as U+FFFD); save the file as UTF-8']],
      [{ name: 'Ana' }, []],
    ],
  );
});

test('a U+FFFD a UTF-8 file holds itself, raw or escaped (a name mangled before the export), is text: the element is read', async () => {
  const envelopes = await readJson('[{"name":"Jos\ufffd"},{"name":"Jos\\ufffd"}]');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw, envelope.issues]),
    [
      [{ name: 'Jos\ufffd' }, []],
      [{ name: 'Jos\ufffd' }, []],
    ],
  );
});

test('rejects a document without the key, such as a Firebase export without `users`', async () => {
  await assert.rejects(readJson('{"kind":"identitytoolkit#DownloadAccountResponse"}', 'users'), {
    code: 'json.key_not_found',
    message: 'export.json: no array of records at `users`',
  });
});

test('rejects a key that holds something other than an array', async () => {
  await assert.rejects(readJson('{"users":{"localId":"kYi4"}}', 'users'), {
    code: 'json.key_not_found',
    message: 'export.json: `users` is an object, not an array of records',
  });
});

test('rejects a document whose top level is not an array when no key is given', async () => {
  await assert.rejects(readJson('{"users":[]}'), {
    code: 'json.invalid',
    message: "export.json: the top level is an object, not an array of records; if the records are an array under a key, name it with the source's `key` (--key users, or data.users)",
  });
});

test('rejects a file that is not JSON, naming the file, line and column', async () => {
  await assert.rejects(readJson('email,name\nana@example.com,Ana\n', 'users'), {
    code: 'json.invalid',
    message: 'export.json:1:1: not valid JSON (expected a value); no record was read',
  });
});

/** Reads the records the source yields before it fails, and the failure. */
async function readUntilFailure(content: string, key?: string): Promise<{ read: unknown[]; error: Error }> {
  const { dir, file } = fileWith('export.json', content);
  const read: unknown[] = [];
  try {
    for await (const envelope of jsonSource.create(jsonSource.options.parse({ path: file, key }), contextIn(dir))) read.push(envelope.raw);
  } catch (error) {
    return { read, error: error as Error };
  }
  throw new Error(`no failure; read ${read.length} records`);
}

test('reads every record of a file cut short, then names the line and column where it ends', async () => {
  const records = Array.from({ length: 5000 }, (_, index) => `    {"localId":"user${index}","email":"user${index}@example.com"}`);
  const { read, error } = await readUntilFailure(`{"users":[\n${records.join(',\n')},\n    {"n":`, 'users');
  assert.equal(read.length, 5000, 'the records of the last read chunk are read too');
  assert.deepEqual(read.at(-1), { localId: 'user4999', email: 'user4999@example.com' });
  assert.equal(
    error.message,
    'export.json:5002:10: not valid JSON (the file ends inside the document: was it cut short?); the records before it were read (the last: users[4999]), none after it',
  );
});

test('reads the records before a broken one in the middle of a file, and names its line', async () => {
  // Past the first 64 KiB read, so the column is counted across chunks.
  const records = Array.from({ length: 3000 }, (_, index) => (index === 2000 ? '{"email": "broken@example.com",, "n": 1}' : `{"n":${index},"email":"user${index}@example.com"}`));
  const { read, error } = await readUntilFailure(`[\n${records.join(',\n')}\n]`);
  assert.equal(read.length, 2000);
  assert.equal(error.message, 'export.json:2002:32: not valid JSON (expected an object key); the records before it were read (the last: [1999]), none after it');
});

/**
 * One record per line, then `fault` on a line of its own; the last record before it is padded so that the input's
 * character `at` (64 KiB: where a read chunk ends) is the character `shift` places into the line break before `fault`.
 */
function faultNear(at: number, shift: number, lineBreak: string, fault: string): { content: string; faultLine: number } {
  const lines = ['['];
  for (let index = 0; lines.join(lineBreak).length < at - 200; index++) lines.push(`{"n":${index},"email":"user${index}@example.com"},`);
  const before = `${lines.join(lineBreak)}${lineBreak}`;
  const padding = 'x'.repeat(at - shift - before.length - '{"padding":""},'.length);
  const content = `${before}{"padding":"${padding}"},${lineBreak}${fault}`;
  return { content, faultLine: lines.length + 2 };
}

test('counts a CRLF split between two read chunks as one line break', async () => {
  const { content, faultLine } = faultNear(65_535, 0, '\r\n', '{"email": "late@example.com",, "n": 1}\r\n]');
  assert.equal(content[65_535], '\r');
  const { error } = await readUntilFailure(content);
  assert.match(error.message, new RegExp(`^export\\.json:${faultLine}:30: not valid JSON \\(expected an object key\\)`));
});

test('a mistyped literal at the end of a read chunk, which the verifier sees only in the next, is named where it is', async () => {
  const { content, faultLine } = faultNear(65_530, 1 + '{"disabled": '.length, '\n', '{"disabled": flase}\n]');
  assert.equal(content.slice(65_530, 65_535), 'flase');
  const { read, error } = await readUntilFailure(content);
  assert.ok(Object.hasOwn(read.at(-1) as object, 'padding'), 'the padded record just before the fault is read');
  assert.match(error.message, new RegExp(`^export\\.json:${faultLine}:14: not valid JSON \\(expected a value\\); the records before it were read`));
});

test('counts lines as an editor does: a U+2028 inside a string (JSON.stringify writes it as is) ends no line', async () => {
  const { error } = await readUntilFailure('[{"name":"Ana\u2028Lima"},\n{"b":1,,}]');
  assert.match(error.message, /^export\.json:2:8: not valid JSON \(expected an object key\)/);
});

test('a file cut in the middle of a true, a null or an escape is cut short too', async () => {
  for (const cut of ['[{"a":1},{"b":tr', '[{"a":1},{"b":n', '[{"a":1},{"b":"x\\u00', '[{"a":1},{"b":1e']) {
    const { read, error } = await readUntilFailure(cut);
    assert.equal(read.length, 1, cut);
    assert.match(error.message, /^export\.json:1:\d+: not valid JSON \(the file ends inside the document: was it cut short\?\)/, cut);
  }
});

test('a typo in the last characters of a file is a typo, not a file cut short', async () => {
  const { error } = await readUntilFailure('[{"a":1},\n{"disabled":flase}]\n');
  assert.equal(error.message, 'export.json:2:13: not valid JSON (expected a value); the records before it were read (the last: [0]), none after it');
});

test('rejects a document cut off after the array at the key, though every record was read', async () => {
  const { read, error } = await readUntilFailure('{"users":[{"email":"ana@example.com"}], "tenant": {"name": "ac', 'users');
  assert.equal(read.length, 1);
  assert.match(error.message, /^export\.json:1:63: not valid JSON \(the file ends inside the document: was it cut short\?\); the records before it were read \(the last: users\[0\]\)/);
});

test('reads UTF-16 with its byte order mark, as Windows PowerShell writes it, or without it', async () => {
  const text = Buffer.from('{"users":[{"email":"zoe@example.com","name":"Zoë"}]}', 'utf16le');
  for (const bytes of [Buffer.concat([Buffer.from([0xff, 0xfe]), text]), text, Buffer.from(text).swap16()]) {
    const envelopes = await readJson(bytes, 'users');
    assert.deepEqual(envelopes.map((envelope) => envelope.raw), [{ email: 'zoe@example.com', name: 'Zoë' }]);
  }
});

test('reads an empty array as no records', async () => {
  assert.deepEqual(await readJson('{"users":[]}', 'users'), []);
});

test('an empty file or an empty array of records is read as no rows, with a warning: an empty export must not pass for a finished migration', async () => {
  for (const [content, key, reason] of [
    ['[]', undefined, 'the top level is an empty array'],
    ['{"users":[]}', 'users', '`users` is an empty array'],
    ['', undefined, 'the input is empty or blank'],
    [' \n\n', 'users', 'the input is empty or blank'],
  ] as const) {
    const { dir, file } = fileWith('export.json', content);
    const warnings: string[] = [];
    const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(warnings.push(line)) }) };
    assert.deepEqual(await collect(jsonSource.create(jsonSource.options.parse({ path: file, key }), ctx)), []);
    assert.deepEqual(warnings, [`warning: export.json: no records read (${reason})\n`]);
  }
});

test('a first element longer than 8 MiB (the whole export, under a key one level too high) stops the reading, saying to name the array inside', async () => {
  const users = Array.from({ length: 50_000 }, (_, index) => ({ email: `user${index}@example.com`, name: 'x'.repeat(160) }));
  const document = JSON.stringify({ data: [{ users }, { id: 'small' }] });
  await assert.rejects(readJson(document, 'data'), {
    code: 'json.element_too_large',
    message: /^export\.json data\[0\]: the first element is longer than 8 MiB, .*name that array with `key` \(e\.g\. data\.users, or data\.0\.users\)$/,
  });
  assert.equal((await readJson(document, 'data.0.users')).length, 50_000);
});

test('a later element longer than 8 MiB is left out as an invalid row, wherever in it the limit is passed; the elements after it are read', async () => {
  const big = 'x'.repeat(1024 * 1024);
  const deep = { email: 'big@example.com', profile: { notes: [big, big, big, big, big, big, big, big, big], more: { tail: 'end' } }, after: 1 };
  // Passed at a value whose key went before it.
  const wide = Object.fromEntries(Array.from({ length: 9 }, (_, index) => [`k${index}`, big]));
  const document = JSON.stringify({ users: [{ email: 'a@example.com' }, deep, { email: 'y@example.com' }, wide, { email: 'z@example.com', tags: ['t'] }] });
  const envelopes = await readJson(document, 'users');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.raw, envelope.issues.map((issue) => issue.code)]),
    [
      [1, { email: 'a@example.com' }, []],
      [2, {}, ['json.element_too_large']],
      [3, { email: 'y@example.com' }, []],
      [4, {}, ['json.element_too_large']],
      [5, { email: 'z@example.com', tags: ['t'] }, []],
    ],
  );
});
