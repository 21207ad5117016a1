import assert from 'node:assert/strict';
import { test } from 'node:test';
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
      ['data.users[0]', { n: '1' }],
      ['data.users[1]', { n: '2' }],
    ],
  );
});

test('keeps numbers as their exact text, so a numeric id past 2^53 is not rounded into another one', async () => {
  const envelopes = await readJson('[{"id":1234567890123456789,"n":1.50},{"id":1234567890123456790}]');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.raw),
    [{ id: '1234567890123456789', n: '1.50' }, { id: '1234567890123456790' }],
  );
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
    message: 'export.json: the top level is an object, not an array of records',
  });
});

test('rejects a file that is not JSON, naming the file', async () => {
  await assert.rejects(readJson('email,name\nana@example.com,Ana\n', 'users'), {
    code: 'json.invalid',
    message: 'export.json: not valid JSON before any record was read (expected a value)',
  });
});

test('rejects a document cut off in the middle of the array, naming the last record read', async () => {
  const records = Array.from({ length: 5000 }, (_, index) => `{"localId":"user${index}","email":"user${index}@example.com"}`);
  await assert.rejects(readJson(`{"users":[${records.join(',\n')},{"n":`, 'users'), (error: Error) => {
    const read = /^export\.json: not valid JSON after users\[(\d+)\], the last record read \(expected a value\)$/.exec(error.message);
    assert.ok(read, error.message);
    assert.ok(Number(read[1]) >= 1000 && Number(read[1]) <= 4999, error.message);
    return true;
  });
});

test('rejects a document cut off after the array at the key, though every record was read', async () => {
  await assert.rejects(readJson('{"users":[{"email":"ana@example.com"}], "tenant": {"name": "ac', 'users'), /^AuthpipeError: export\.json: not valid JSON after users\[0\], the last record read/);
});

test('reads UTF-16 with its byte order mark, as Windows PowerShell writes it', async () => {
  const text = Buffer.from('{"users":[{"email":"zoe@example.com","name":"Zoë"}]}', 'utf16le');
  const envelopes = await readJson(Buffer.concat([Buffer.from([0xff, 0xfe]), text]), 'users');
  assert.deepEqual(envelopes.map((envelope) => envelope.raw), [{ email: 'zoe@example.com', name: 'Zoë' }]);
});

test('reads an empty array as no records', async () => {
  assert.deepEqual(await readJson('{"users":[]}', 'users'), []);
});
