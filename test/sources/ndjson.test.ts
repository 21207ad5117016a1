import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../pipelines/log.ts';
import { envelopeLine, type Envelope } from '../../pipelines/record.ts';
import { ndjsonSource } from '../../sources/ndjson.ts';
import { collect, contextIn, fileWith } from './context.ts';

async function readNdjson(content: string | Buffer) {
  const { dir, file } = fileWith('users.ndjson', content);
  return collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir)));
}

test('wraps each JSON object line as a raw record numbered from 1 with its line', async () => {
  const envelopes = await readNdjson('{"user_id":"auth0|1","email":"ana@example.com"}\n{"user_id":"auth0|2"}\n');
  assert.deepEqual(envelopes, [
    { seq: 1, key: 'seq:1', origin: { file: 'users.ndjson', line: 1 }, user: {}, raw: { user_id: 'auth0|1', email: 'ana@example.com' }, issues: [] },
    { seq: 2, key: 'seq:2', origin: { file: 'users.ndjson', line: 2 }, user: {}, raw: { user_id: 'auth0|2' }, issues: [] },
  ]);
});

test('passes an envelope written by another verb through unchanged', async () => {
  const envelope: Envelope = {
    seq: 41,
    key: 'ext:user_06',
    origin: { file: 'users.csv', line: 43 },
    user: { email: 'ana@example.com', orgs: [{ externalId: 'acme', roles: ['admin'] }] },
    issues: [{ stage: 'validate', code: 'email.invalid', level: 'warning', message: 'users.csv:43: odd address' }],
  };
  const envelopes = await readNdjson(`${JSON.stringify(envelope)}\n`);
  assert.deepEqual(envelopes, [envelope]);
});

test('completes a hand-written envelope: origin from its line, key from its user, organizations without roles', async () => {
  const envelopes = await readNdjson('{"user":{"email":"ana@example.com","orgs":[{"externalId":"acme"}]},"issues":[]}\n');
  assert.deepEqual(envelopes, [
    { seq: 1, key: 'email:ana@example.com', origin: { file: 'users.ndjson', line: 1 }, user: { email: 'ana@example.com', orgs: [{ externalId: 'acme', roles: [] }] }, issues: [] },
  ]);
});

test('reads `metadata: null` in an envelope (what a jq edit leaves on a row without metadata) as no metadata', async () => {
  const [envelope] = await readNdjson('{"seq":7,"user":{"email":"ana@example.com","metadata":null},"issues":[]}\n');
  assert.deepEqual(envelope.issues, []);
  assert.deepEqual(envelope.user, { email: 'ana@example.com' });
});

test('turns an envelope with a field of the wrong type or a misspelt field into an error naming the line and field, and reads on', async () => {
  const envelopes = await readNdjson(
    [
      '{"seq":1,"user":{"email":5},"issues":[]}',
      '{"seq":2,"user":{"email":"bo@example.com","orgs":"acme"},"issues":[]}',
      '{"seq":3,"user":{"email":"cy@example.com","firstname":"Cy"},"issues":[]}',
      '{"seq":4,"user":{"email":"di@example.com","passwordHash":"$2b$10$abcdefghijklmnopqrstuv","passwordHashType":"$2b$10$abcdefghijklmnopqrstuv"},"issues":[]}',
      '{"seq":5,"user":{"email":"ed@example.com"},"issues":[]}',
      '{"seq":6,"user":{"email":"fa@example.com","metadata":{"__proto__":"gold","plan":"pro"}},"issues":[]}',
    ].join('\n'),
  );
  const invalid = (line: number, reason: string) => [['ndjson.invalid_envelope', `users.ndjson:${line}: not a valid envelope: ${reason}`]];
  assert.deepEqual(
    envelopes.map((envelope) => envelope.issues.map((issue) => [issue.code, issue.message])),
    [
      invalid(1, 'user.email: Invalid input: expected string, received number'),
      invalid(2, 'user.orgs: Invalid input: expected array, received string'),
      invalid(3, 'user: Unrecognized key: "firstname"'),
      invalid(4, 'user.passwordHashType: Invalid option: expected one of "bcrypt"|"firebase-scrypt"|"scrypt"|"argon2"|"pbkdf2"|"ssha"|"ssha256"'),
      [],
      invalid(6, 'user.metadata: the key __proto__ is reserved in JavaScript; remove it'),
    ],
  );
  assert.equal(envelopes[4].user.email, 'ed@example.com');
});

test('turns a line that is not JSON into an error envelope with its line number, and reads on', async () => {
  const envelopes = await readNdjson('{"email":"ana@example.com"}\n{"email": $2b$10$abcdefghijklmnopqrstuv\n{"email":"bo@example.com"}\n');
  assert.deepEqual(envelopes[1], {
    seq: 2,
    key: 'seq:2',
    origin: { file: 'users.ndjson', line: 2 },
    user: {},
    raw: {},
    issues: [{ stage: 'ndjson', code: 'ndjson.invalid_json', level: 'error', message: 'users.ndjson:2: the line is not valid JSON' }],
  });
  assert.deepEqual(envelopes[2].raw, { email: 'bo@example.com' });
});

test('flags a JSON line that is not an object', async () => {
  const envelopes = await readNdjson('["ana@example.com"]\n42\nnull\n');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.issues[0].message),
    [
      'users.ndjson:1: the line is an array, not a JSON object (a JSON document holding an array of users? read it with the json source: `authpipe read json`)',
      'users.ndjson:2: the line is a number, not a JSON object',
      'users.ndjson:3: the line is null, not a JSON object',
    ],
  );
  assert.ok(envelopes.every((envelope) => envelope.issues[0].code === 'ndjson.invalid_json'));
});

test('skips blank and whitespace-only lines but counts them in line numbers', async () => {
  const envelopes = await readNdjson('\n{"n":1}\n\n   \n{"n":2}\n\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.seq, envelope.origin.line, envelope.raw]),
    [
      [1, 2, { n: 1 }],
      [2, 5, { n: 2 }],
    ],
  );
});

test('reads the lines of files joined with cat, each opening with a byte order mark', async () => {
  const envelopes = await readNdjson('\uFEFF{"n":1}\n{"n":2}\n\uFEFF{"n":3}\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [1, { n: 1 }, []],
      [2, { n: 2 }, []],
      [3, { n: 3 }, []],
    ],
  );
});

test('reads CRLF line endings, a byte order mark and a last line without a newline', async () => {
  const envelopes = await readNdjson('\uFEFF{"n":1}\r\n\r\n{"n":"two"}\r\n{"n":3}');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [1, { n: 1 }, []],
      [3, { n: 'two' }, []],
      [4, { n: 3 }, []],
    ],
  );
});

test('reads UTF-16 with its byte order mark, as Windows PowerShell writes it', async () => {
  const text = '{"email":"zoe@example.com","name":"Zoë"}\r\n{"email":"bo@example.com"}\r\n';
  const envelopes = await readNdjson(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
    [
      [1, { email: 'zoe@example.com', name: 'Zoë' }],
      [2, { email: 'bo@example.com' }],
    ],
  );
});

test('reads CR-only line endings (old Mac), and a CRLF split between two reads as one line end', async () => {
  const envelopes = await readNdjson('{"n":1}\r{"n":2}\r\r{"n":3}\r');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw]),
    [
      [1, { n: 1 }],
      [2, { n: 2 }],
      [4, { n: 3 }],
    ],
  );
  // A file is read 64 KiB at a time: this CR is the first read's last byte, its LF the second's first.
  const first = `{"n":1,"pad":"${'x'.repeat(65_536 - 1 - '{"n":1,"pad":""}'.length)}"}`;
  const split = await readNdjson(`${first}\r\n{"n":2}\r\n`);
  assert.deepEqual(
    split.map((envelope) => [envelope.origin.line, envelope.raw?.n]),
    [
      [1, 1],
      [2, 2],
    ],
  );
});

test('in a file whose lines end in LF or CRLF, a CR is JSON whitespace, and a doubled CR before the LF ends no line', async () => {
  const envelopes = await readNdjson('{"n":1,\r"m":2}\r\r\n{"n":2}\r\r\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [1, { n: 1, m: 2 }, []],
      [2, { n: 2 }, []],
    ],
  );
});

test('in a file of LF lines, old Mac (CR) lines joined to it are read each as its own record, under the LF line that holds them', async () => {
  // `cat unix.ndjson mac.ndjson`: the CR-only part sits in one LF line, the last.
  const envelopes = await readNdjson('{"n":1}\n{"n":2}\n{"n":3}\r{"n":4}\r\r{"n":5}\r');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
    [
      [1, { n: 1 }, []],
      [2, { n: 2 }, []],
      [3, { n: 3 }, []],
      [3, { n: 4 }, []],
      [3, { n: 5 }, []],
    ],
  );
  // Broken JSON between the CRs is one invalid row; the records beside it are read.
  const broken = await readNdjson('{"n":1}\n{"n":2}\r{"n":\r{"n":3}\n');
  assert.deepEqual(
    broken.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues.map((issue) => issue.code)]),
    [
      [1, { n: 1 }, []],
      [2, { n: 2 }, []],
      [2, {}, ['ndjson.invalid_json']],
      [2, { n: 3 }, []],
    ],
  );
});

test('reads UTF-16 without its byte order mark, told by the NUL bytes of its first characters', async () => {
  const text = '{"email":"zoe@example.com","name":"Zoë"}\n{"email":"bo@example.com"}\n';
  for (const bytes of [Buffer.from(text, 'utf16le'), Buffer.from(text, 'utf16le').swap16()]) {
    const envelopes = await readNdjson(bytes);
    assert.deepEqual(
      envelopes.map((envelope) => [envelope.origin.line, envelope.raw, envelope.issues]),
      [
        [1, { email: 'zoe@example.com', name: 'Zoë' }, []],
        [2, { email: 'bo@example.com' }, []],
      ],
    );
  }
});

test('reads a line far longer than a read chunk', async () => {
  const note = 'x'.repeat(3 * 1024 * 1024);
  const envelopes = await readNdjson(`{"n":1}\n${JSON.stringify({ n: 2, note })}\n{"n":3}\n`);
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.n]),
    [
      [1, 1],
      [2, 2],
      [3, 3],
    ],
  );
  assert.equal(envelopes[1].raw?.note, note);
});

test('leaves out a line longer than 8 MiB as an error with its line number, without holding it, and reads on', async () => {
  const envelopes = await readNdjson(`{"n":1}\n{"note":"${'z'.repeat(9 * 1024 * 1024)}"}\n{"n":3}\n`);
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.origin.line, envelope.raw?.n, envelope.issues.map((issue) => issue.message)]),
    [
      [1, 1, []],
      [2, undefined, ['users.ndjson:2: the line is longer than 8 MiB, so it is left out']],
      [3, 3, []],
    ],
  );
});

test('keeps every digit of an integer too large for a JavaScript number, as text; other numbers stay numbers', async () => {
  const envelopes = await readNdjson('{"id":1234567890123456789,"n":12,"s":"9999999999999999999"}\n{"id":-90071992547409931,"x":1.5e3}\n');
  assert.deepEqual(
    envelopes.map((envelope) => envelope.raw),
    [
      { id: '1234567890123456789', n: 12, s: '9999999999999999999' },
      { id: '-90071992547409931', x: 1500 },
    ],
  );
});

test('a line nested thousands deep is an error row without its value (a sink could not write it); the lines after it are read', async () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  const envelopes = await readNdjson(`{"n":1}\n{"n":2,"notes":${deep}}\n{"n":3}\n`);
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw, envelope.issues.map((issue) => issue.message)]),
    [
      [{ n: 1 }, []],
      [{}, ['users.ndjson:2: the line nests values more than 64 deep']],
      [{ n: 3 }, []],
    ],
  );
});

test('a line with bytes that are not UTF-8 is an error row without its value, not a mangled name', async () => {
  const envelopes = await readNdjson(Buffer.concat([Buffer.from('{"name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}\n{"name":"Ana"}\n')]));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw, envelope.issues.map((issue) => issue.code)]),
    [
      [{}, ['ndjson.undecodable']],
      [{ name: 'Ana' }, []],
    ],
  );
  // An envelope from an earlier verb (which writes U+FFFD escaped) keeps its own origin and findings.
  const passedOn: Envelope = {
    seq: 4,
    key: 'seq:4',
    origin: { file: 'latin.csv', line: 5 },
    user: { firstName: 'Jos\uFFFD' },
    issues: [{ stage: 'csv', code: 'csv.undecodable', level: 'error', message: 'latin.csv:5: has bytes that are not utf-8' }],
  };
  assert.deepEqual(await readNdjson(`${envelopeLine(passedOn)}\n`), [passedOn]);
  // One edited in another encoding keeps them too, and gets the fault added.
  const edited = Buffer.concat([Buffer.from('{"seq":7,"key":"ext:u7","user":{"firstName":"Jos'), Buffer.from([0xe9]), Buffer.from('"},"issues":[]}\n')]);
  const [envelope] = await readNdjson(edited);
  assert.deepEqual([envelope.key, envelope.issues.map((issue) => issue.code)], ['ext:u7', ['ndjson.undecodable']]);
});

test('a U+FFFD a UTF-8 file holds itself, raw or escaped (a name mangled before the export), is text: the row is read', async () => {
  const envelopes = await readNdjson('{"name":"Jos\ufffd"}\n{"name":"Jos\\ufffd"}\n');
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.raw, envelope.issues]),
    [
      [{ name: 'Jos\ufffd' }, []],
      [{ name: 'Jos\ufffd' }, []],
    ],
  );
});

test('fails with source.file_not_found naming the file when it does not exist', async () => {
  const { dir } = fileWith('other.ndjson', '');
  await assert.rejects(collect(ndjsonSource.create(ndjsonSource.options.parse({ path: `${dir}/missing.ndjson` }), contextIn(dir))), {
    code: 'source.file_not_found',
    message: `input file not found: ${dir}/missing.ndjson`,
  });
});

test('fails with source.file_unreadable when the path is a folder', async () => {
  const { dir } = fileWith('other.ndjson', '');
  await assert.rejects(collect(ndjsonSource.create(ndjsonSource.options.parse({ path: dir }), contextIn(dir))), {
    code: 'source.file_unreadable',
    message: `input path is a folder, not a file: ${dir}`,
  });
});

test('an empty or blank input is read as no rows, with a warning: an empty export must not pass for a finished migration', async () => {
  for (const [content, reason] of [
    ['', 'the input is empty'],
    ['\n \n', 'only blank lines'],
  ] as const) {
    const { dir, file } = fileWith('users.ndjson', content);
    const warnings: string[] = [];
    const ctx = { ...contextIn(dir), log: createLogger({ write: (line) => Boolean(warnings.push(line)) }) };
    assert.deepEqual(await collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), ctx)), []);
    assert.deepEqual(warnings, [`warning: users.ndjson: no records read (${reason})\n`]);
  }
});

test('a whole number past 2^53 keeps its exact text, however written (1234567890123456789, pandas\' 1.2345678901234567e18 or …890.0)', async () => {
  const { dir, file } = fileWith('users.ndjson', '{"id":1234567890123456789,"f":12345678901234567890.0,"e":1.2345678901234567e18,"n":1.5,"s":"x12345678901234567"}\n');
  const [envelope] = await collect(ndjsonSource.create(ndjsonSource.options.parse({ path: file }), contextIn(dir)));
  assert.deepEqual(envelope?.raw, { id: '1234567890123456789', f: '12345678901234567890.0', e: '1.2345678901234567e18', n: 1.5, s: 'x12345678901234567' });
});
