import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Envelope, UserDraft } from '../../pipelines/record.ts';
import { createLogger } from '../../pipelines/log.ts';
import { csvSink } from '../../sinks/csv.ts';
import { SECRET_IN_LEDGER } from '../../state/replay.ts';
import { contextIn, streamOf, tempDir } from '../sources/context.ts';

const BCRYPT = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
const WORKOS_HEADER =
  'email,first_name,last_name,email_verified,external_id,password_hash,password_hash_type,metadata,org_id,org_external_id,org_name,role_slugs';

function envelope(seq: number, user: UserDraft, issues: Envelope['issues'] = []): Envelope {
  return { seq, key: user.externalId ? `ext:${user.externalId}` : `seq:${seq}`, origin: { file: 'users.csv', line: seq + 1 }, user, issues };
}

async function writeCsv(envelopes: Envelope[], options: Record<string, unknown> = {}) {
  const dir = tempDir();
  const file = path.join(dir, 'out.csv');
  const writer = await csvSink.create(csvSink.options.parse({ path: file, ...options }), contextIn(dir));
  const result = await writer(streamOf(envelopes));
  return { result, text: readFileSync(file, 'utf8') };
}

const ana = envelope(1, {
  email: 'ana@example.com',
  firstName: 'Ana',
  lastName: 'Silva',
  emailVerified: true,
  externalId: 'user_1',
  passwordHash: BCRYPT,
  passwordHashType: 'bcrypt',
  metadata: { plan: 'pro' },
  orgs: [
    { externalId: 'acme', name: 'Acme, Inc.', roles: ['admin', 'member'] },
    { id: 'org_01HZ', name: 'Beta', roles: [] },
  ],
});
const bo = envelope(2, { email: 'bo@example.com', emailVerified: false });

test('writes the WorkOS import layout with one row per organization of a user', async () => {
  const { result, text } = await writeCsv([ana, bo]);
  assert.equal(
    text,
    [
      WORKOS_HEADER,
      `ana@example.com,Ana,Silva,true,user_1,${BCRYPT},bcrypt,"{""plan"":""pro""}",,acme,"Acme, Inc.","admin,member"`,
      `ana@example.com,Ana,Silva,true,user_1,${BCRYPT},bcrypt,"{""plan"":""pro""}",org_01HZ,,Beta,`,
      'bo@example.com,,,false,,,,,,,,',
      '',
    ].join('\n'),
  );
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
});

test('escapes names a spreadsheet would run as formulas, but keeps emails, ids, roles and hashes byte-exact', async () => {
  const hash = '+fZbEZpV1+8g/Rf0iKYxXYk2vQ==';
  const { text } = await writeCsv([
    envelope(1, {
      email: '-ana@example.com',
      firstName: '=cmd|"/c calc"!A1',
      lastName: '+1',
      externalId: '+2',
      passwordHash: hash,
      orgs: [{ externalId: '-acme', name: '@x', roles: ['-admin'] }],
    }),
  ]);
  assert.equal(text, `${WORKOS_HEADER}\n-ana@example.com,"'=cmd|""/c calc""!A1",'+1,,+2,${hash},,,,-acme,'@x,-admin\n`);
});

test('says how many users of the import layout have a name written after a quote, which the WorkOS importer would keep', async () => {
  for (const [layout, expected] of [
    ['workos-csv', [
      "warning: csv: 2 users have names or organization names starting with = + - or @, written after a ' so that a spreadsheet shows them as text: the WorkOS importer would keep the '; the workos sink sends names as they are\n",
    ]],
    ['flat', []],
  ] as const) {
    const dir = tempDir();
    const warnings: string[] = [];
    const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(warnings.push(line)) }) };
    const writer = await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'out.csv'), layout }), ctx);
    const dashed = envelope(1, { email: 'a@example.com', lastName: '-Smith' });
    const orgAt = envelope(2, { email: 'b@example.com', orgs: [{ externalId: 'acme', name: '@home', roles: [] }] });
    await writer(streamOf([dashed, orgAt, bo]));
    assert.deepEqual(warnings, expected, layout);
  }
});

test('escapes every cell a spreadsheet would run as a formula in the flat review layout', async () => {
  const { text } = await writeCsv([envelope(1, { email: '-ana@example.com', firstName: '=1+1', externalId: '+2' })], { layout: 'flat' });
  assert.equal(text.split('\n')[1], "1,ext:+2,'-ana@example.com,'=1+1,,,'+2,,");
});

test('writes the flat layout with the envelope key and organizations as JSON, never a password hash', async () => {
  const { text } = await writeCsv([ana, bo], { layout: 'flat' });
  assert.equal(
    text,
    [
      'seq,key,email,first_name,last_name,email_verified,external_id,metadata,orgs',
      '1,ext:user_1,ana@example.com,Ana,Silva,true,user_1,"{""plan"":""pro""}","[{""externalId"":""acme"",""name"":""Acme, Inc."",""roles"":[""admin"",""member""]},{""id"":""org_01HZ"",""name"":""Beta"",""roles"":[]}]"',
      '2,seq:2,bo@example.com,,,false,,,',
      '',
    ].join('\n'),
  );
  assert.ok(!text.includes(BCRYPT));
});

test('leaves out rows with an error issue', async () => {
  const invalid = envelope(3, { email: 'not-an-email' }, [{ stage: 'validate', code: 'email.invalid', level: 'error', message: 'users.csv:4: bad email' }]);
  const warned = envelope(4, { email: 'cy@example.com' }, [{ stage: 'validate', code: 'name.missing', level: 'warning', message: 'users.csv:5: no name' }]);
  const { result, text } = await writeCsv([bo, invalid, warned]);
  assert.equal(text, `${WORKOS_HEADER}\nbo@example.com,,,false,,,,,,,,\ncy@example.com,,,,,,,,,,,\n`);
  assert.deepEqual(result, { written: 2, failed: 0, skipped: 0 });
});

test('writes only the header when there is no row', async () => {
  const { text } = await writeCsv([]);
  assert.equal(text, `${WORKOS_HEADER}\n`);
});

test('writes all of 100,000 rows to a file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'large.csv');
  async function* many(): AsyncGenerator<Envelope> {
    for (let seq = 1; seq <= 100_000; seq++) yield envelope(seq, { email: `u${seq}@example.com`, externalId: `user_${seq}` });
  }
  const writer = await csvSink.create(csvSink.options.parse({ path: file }), contextIn(dir));
  assert.deepEqual(await writer(many()), { written: 100_000, failed: 0, skipped: 0 });
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 100_002);
  assert.equal(lines[100_000], 'u100000@example.com,,,,user_100000,,,,,,,');
  assert.equal(lines[100_001], '');
});

test('fails with sink.file_unwritable naming the file when its folder does not exist', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'missing', 'out.csv');
  const writer = await csvSink.create(csvSink.options.parse({ path: file }), contextIn(dir));
  await assert.rejects(writer(streamOf([bo])), { code: 'sink.file_unwritable', message: `cannot write output file ${file} (ENOENT)` });
});

test('says how many TOTP secrets a CSV file left out, in either layout, since it has no column for them', async () => {
  for (const layout of ['workos-csv', 'flat']) {
    const dir = tempDir();
    const warnings: string[] = [];
    const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(warnings.push(line)) }) };
    const writer = await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'out.csv'), layout }), ctx);
    await writer(streamOf([envelope(1, { email: 'a@example.com', totpSecret: 'JBSWY3DPEHPK3PXP' }), bo]));
    assert.deepEqual(warnings, ['warning: csv: 1 user has a TOTP secret, which a CSV file has no column for: written without it (the workos sink imports TOTP factors)\n']);
    assert.ok(!readFileSync(path.join(dir, 'out.csv'), 'utf8').includes('JBSWY3DPEHPK3PXP'));
  }
});

test('leaves out the password hash a replay export keeps in the ledger, with its type, and says how many', async () => {
  const dir = tempDir();
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(warnings.push(line)) }) };
  const writer = await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'out.csv') }), ctx);
  const exported = envelope(1, { email: 'a@example.com', passwordHash: SECRET_IN_LEDGER, passwordHashType: 'bcrypt' });
  await writer(streamOf([exported, bo]));
  assert.equal(readFileSync(path.join(dir, 'out.csv'), 'utf8').split('\n')[1], 'a@example.com,,,,,,,,,,,');
  assert.deepEqual(warnings, [
    "warning: csv: 1 user's password hash is kept in the ledger (rows of replay --export): written without it, so a CSV import leaves that user without a password; the workos sink with --ledger puts it back\n",
  ]);
});

test('says how many rows had only a source record (no map stage before the sink?), which it writes as empty cells', async () => {
  const dir = tempDir();
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(warnings.push(line)) }) };
  const writer = await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'out.csv') }), ctx);
  const unmapped: Envelope = { seq: 9, key: 'seq:9', origin: { file: 'users.csv', line: 10 }, user: {}, raw: { email: 'cy@example.com' }, issues: [] };
  await writer(streamOf([unmapped, bo, { ...unmapped, seq: 10 }]));
  assert.deepEqual(warnings, ['warning: csv: 2 rows have no user fields, only a source record (no map stage before the sink?): written as empty cells\n']);
});

test('says how many users it wrote with an identity a spreadsheet would run as a formula, kept byte-exact for the importer', async () => {
  const dir = tempDir();
  const warnings: string[] = [];
  const ctx = { ...contextIn(dir), log: createLogger({ quiet: true, write: (line) => Boolean(warnings.push(line)) }) };
  const writer = await csvSink.create(csvSink.options.parse({ path: path.join(dir, 'out.csv') }), ctx);
  const formula = envelope(5, { email: 'mallory@example.com', externalId: '=HYPERLINK("https://evil.example","x")' });
  await writer(streamOf([formula, bo, envelope(6, { email: 'eve@example.com', orgs: [{ externalId: '@SUM(1+1)', roles: [] }] })]));
  assert.deepEqual(warnings, [
    'warning: csv: 2 users have an email, id, hash or role starting with = + - or @, kept byte-exact for the WorkOS importer: a spreadsheet opening this file would run it as a formula\n',
  ]);
});
