import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawEnvelope, type Envelope } from '../../pipelines/record.ts';
import { mapStage } from '../../stages/map.ts';
import { collect, contextIn, streamOf, tempDir } from '../sources/context.ts';

async function mapRecords(options: Record<string, unknown>, records: Record<string, unknown>[]): Promise<Envelope[]> {
  const transform = await mapStage.create(mapStage.options.parse(options), contextIn(tempDir()));
  const envelopes = records.map((raw, index) => rawEnvelope(index + 1, { file: 'in.ndjson', line: index + 1 }, raw));
  return collect(transform(streamOf(envelopes)));
}

async function mapOne(options: Record<string, unknown>, raw: Record<string, unknown>): Promise<Envelope> {
  const [envelope] = await mapRecords(options, [raw]);
  return envelope;
}

test('renames source fields onto user fields and keys the record by its external id', async () => {
  const envelope = await mapOne(
    { fields: { email: 'mail', externalId: 'uid', firstName: 'given', lastName: 'family', totpSecret: 'otp' } },
    { mail: 'ana@example.com', uid: 'u-1', given: 'Ana', family: 'Silva', otp: 'JBSWY3DPEHPK3PXP', ignored: 'x' },
  );
  assert.deepEqual(envelope.user, {
    email: 'ana@example.com',
    externalId: 'u-1',
    firstName: 'Ana',
    lastName: 'Silva',
    totpSecret: 'JBSWY3DPEHPK3PXP',
  });
  assert.equal(envelope.key, 'ext:u-1');
  assert.deepEqual(envelope.raw, { mail: 'ana@example.com', uid: 'u-1', given: 'Ana', family: 'Silva', otp: 'JBSWY3DPEHPK3PXP', ignored: 'x' });
  assert.deepEqual(envelope.issues, []);
});

test('keys a record without external id by its normalized email, and one without either by its position', async () => {
  const [withEmail, withNothing] = await mapRecords({ fields: { email: 'mail' } }, [{ mail: ' Ana@Example.COM ' }, { mail: '' }]);
  assert.equal(withEmail.key, 'email:ana@example.com');
  assert.equal(withNothing.key, 'seq:2');
  assert.deepEqual(withNothing.user, {});
});

test('trims values by default, keeps them as written when trim is off, and lowercases on request', async () => {
  const envelope = await mapOne(
    {
      fields: {
        email: { from: 'mail', lowercase: true },
        firstName: { from: 'given', trim: false },
        lastName: 'family',
      },
    },
    { mail: '  Ana@Example.COM ', given: ' Ana ', family: '\tSilva\n' },
  );
  assert.deepEqual(envelope.user, { email: 'ana@example.com', firstName: ' Ana ', lastName: 'Silva' });
});

test('uses a field default when the source value is missing, blank or null', async () => {
  const options = { fields: { lastName: { from: 'family', default: 'Unknown' }, emailVerified: { from: 'verified', default: false } } };
  const envelopes = await mapRecords(options, [{}, { family: '   ', verified: '' }, { family: null, verified: null }, { family: 'Silva', verified: 'yes' }]);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user),
    [
      { lastName: 'Unknown', emailVerified: false },
      { lastName: 'Unknown', emailVerified: false },
      { lastName: 'Unknown', emailVerified: false },
      { lastName: 'Silva', emailVerified: true },
    ],
  );
});

test('reads dotted names as paths into nested objects, and as written when the record has such a key', async () => {
  const envelope = await mapOne(
    { fields: { externalId: 'ids.primary', email: 'contact.email', firstName: 'profile.name.first' } },
    { ids: { primary: 42 }, 'contact.email': 'flat@example.com', contact: { email: 'nested@example.com' }, profile: { name: 'not an object' } },
  );
  assert.deepEqual(envelope.user, { externalId: '42', email: 'flat@example.com' });
});

test('splits a full name into the first word and the rest, whatever the spacing', async () => {
  const names = ['Ana Maria  da   Silva', '  Cher  ', 'Zoë\tMüller', '', '   '];
  const envelopes = await mapRecords(
    { fullName: { from: 'name' } },
    names.map((name) => ({ name })),
  );
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user),
    [{ firstName: 'Ana', lastName: 'Maria da Silva' }, { firstName: 'Cher' }, { firstName: 'Zoë', lastName: 'Müller' }, {}, {}],
  );
});

test('lets an explicit first or last name field win over the split full name', async () => {
  const envelope = await mapOne({ fullName: { from: 'name' }, fields: { lastName: 'surname' } }, { name: 'Ana Silva', surname: 'Costa' });
  assert.deepEqual(envelope.user, { firstName: 'Ana', lastName: 'Costa' });
});

test('reads the verified flag from booleans, numbers and the words true/false/yes/no/1/0 in any case', async () => {
  const values = [true, false, 1, 0, 'TRUE', 'False', ' yes ', 'NO', '1', '0'];
  const envelopes = await mapRecords(
    { fields: { emailVerified: 'verified' } },
    values.map((verified) => ({ verified })),
  );
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user.emailVerified),
    [true, false, true, false, true, false, true, false, true, false],
  );
});

test('flags a verified value that is not a boolean word as an error on the field', async () => {
  const envelope = await mapOne({ fields: { emailVerified: 'verified' } }, { verified: 'maybe' });
  assert.deepEqual(envelope.user, {});
  assert.deepEqual(envelope.issues, [
    {
      stage: 'map',
      code: 'field.invalid_boolean',
      level: 'error',
      message: 'in.ndjson:1: verified is not one of true/false/1/0/yes/no',
      field: 'emailVerified',
    },
  ]);
});

test('flags an object where text is expected without repeating the value', async () => {
  const envelope = await mapOne({ fields: { passwordHash: 'secret' } }, { secret: { digest: '$2a$10$fgPOubgdJs90F1GK2u' } });
  assert.deepEqual(envelope.user, {});
  assert.deepEqual(envelope.issues, [
    { stage: 'map', code: 'field.invalid_type', level: 'error', message: 'in.ndjson:1: secret holds an object or a list, not text', field: 'passwordHash' },
  ]);
});

test('keeps a known password hash type, lowercased, and drops the hash with a warning for an unknown one', async () => {
  const options = { fields: { passwordHash: 'hash', passwordHashType: 'kind' } };
  const hash = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
  const [known, unknown] = await mapRecords(options, [
    { hash, kind: 'BCRYPT' },
    { hash: 'd41d8cd98f00b204e9800998ecf8427e', kind: 'md5' },
  ]);
  assert.deepEqual(known.user, { passwordHash: hash, passwordHashType: 'bcrypt' });
  assert.deepEqual(unknown.user, {});
  assert.deepEqual(unknown.issues, [
    {
      stage: 'map',
      code: 'hash.unsupported',
      level: 'warning',
      message: 'in.ndjson:2: WorkOS does not accept the hash type "md5"; no password is sent',
      field: 'passwordHashType',
    },
  ]);
});

test('names an unknown hash type only when it looks like a name, never a digest from a shifted column', async () => {
  const digest = 'd41d8cd98f00b204e9800998ecf8427e';
  const envelope = await mapOne({ fields: { passwordHash: 'hash', passwordHashType: 'kind' } }, { hash: 'x', kind: digest });
  assert.equal(envelope.issues[0].message, 'in.ndjson:1: WorkOS does not accept the hash type an unrecognised name; no password is sent');
});

test('picks metadata as text: numbers and booleans as written, objects and lists as JSON, empty values left out', async () => {
  const envelope = await mapOne(
    { metadata: ['plan', { from: 'app_metadata.seats', as: 'seats' }, 'beta', 'tags', 'settings', 'missing', 'blank'] },
    { plan: 'pro', app_metadata: { seats: 5 }, beta: true, tags: ['a', 'b'], settings: { theme: 'dark' }, blank: '' },
  );
  assert.deepEqual(envelope.user, {
    metadata: { plan: 'pro', seats: '5', beta: 'true', tags: '["a","b"]', settings: '{"theme":"dark"}' },
  });
  assert.deepEqual(envelope.issues, []);
});

test('drops metadata entries over the WorkOS limits with a warning naming each key, never truncating', async () => {
  const keys = Array.from({ length: 12 }, (_, index) => `k${index + 1}`);
  const raw: Record<string, unknown> = Object.fromEntries(keys.map((key) => [key, 'v']));
  raw.k2 = 'x'.repeat(601);
  raw.k3 = 'Zoë';
  raw.k4 = 'y'.repeat(600);
  const envelope = await mapOne({ metadata: keys }, raw);
  assert.deepEqual(Object.keys(envelope.user.metadata ?? {}), ['k1', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10', 'k11', 'k12']);
  assert.equal(envelope.user.metadata?.k4, 'y'.repeat(600));
  assert.deepEqual(
    envelope.issues.map((issue) => [issue.code, issue.level, issue.message]),
    [
      ['metadata.dropped', 'warning', 'in.ndjson:1: metadata "k2" is left out: the value is longer than 600 characters'],
      ['metadata.dropped', 'warning', 'in.ndjson:1: metadata "k3" is left out: the value is not ASCII'],
    ],
  );

  const crowded = await mapOne({ metadata: keys }, Object.fromEntries(keys.map((key) => [key, 'v'])));
  assert.equal(Object.keys(crowded.user.metadata ?? {}).length, 10);
  assert.deepEqual(
    crowded.issues.map((issue) => issue.message),
    ['in.ndjson:1: metadata "k11" is left out: WorkOS keeps at most 10 entries', 'in.ndjson:1: metadata "k12" is left out: WorkOS keeps at most 10 entries'],
  );
});

test('a metadata key named __proto__ is left out with a warning, not lost unsaid; the keys beside it are kept', async () => {
  const envelope = await mapOne({ metadata: ['__proto__', 'plan'] }, JSON.parse('{"__proto__":"gold","plan":"pro"}') as Record<string, unknown>);
  assert.deepEqual(envelope.user.metadata, { plan: 'pro' });
  assert.deepEqual(
    envelope.issues.map((issue) => issue.message),
    ['in.ndjson:1: metadata "__proto__" is left out: the name is reserved in JavaScript, which the WorkOS SDK is written in'],
  );
});

test('refuses a metadata key longer than 40 characters or not ASCII when the options are read', () => {
  const long = mapStage.options.safeParse({ metadata: ['a'.repeat(41)] });
  assert.equal(long.success, false);
  const accented = mapStage.options.safeParse({ metadata: [{ from: 'plan', as: 'plán' }] });
  assert.equal(accented.success, false);
  const renamed = mapStage.options.safeParse({ metadata: [{ from: 'a'.repeat(41), as: 'plan' }] });
  assert.equal(renamed.success, true);
});

test('refuses unknown keys inside a field spec so a typo is reported, not ignored', () => {
  const parsed = mapStage.options.safeParse({ fields: { email: { from: 'mail', lowercas: true } } });
  assert.equal(parsed.success, false);
});

test('fills defaults only for fields still missing after the mapping', async () => {
  const options = { fields: { emailVerified: 'verified', firstName: 'given' }, defaults: { emailVerified: false, firstName: 'Friend', lastName: 'User' } };
  const [missing, given] = await mapRecords(options, [{}, { verified: 'true', given: 'Ana' }]);
  assert.deepEqual(missing.user, { emailVerified: false, firstName: 'Friend', lastName: 'User' });
  assert.deepEqual(given.user, { emailVerified: true, firstName: 'Ana', lastName: 'User' });
});

test('passes a record the source already rejected through untouched', async () => {
  const transform = await mapStage.create(mapStage.options.parse({ fields: { email: 'mail' } }), contextIn(tempDir()));
  const issue = { stage: 'csv', code: 'csv.ragged_row', level: 'error' as const, message: 'in.csv:2: expected 3 cells (one per column), got 2' };
  const rejected = rawEnvelope(1, { file: 'in.csv', line: 2 }, { mail: 'ana@example.com' }, [issue]);
  const [envelope] = await collect(transform(streamOf([rejected])));
  assert.deepEqual(envelope, {
    seq: 1,
    key: 'seq:1',
    origin: { file: 'in.csv', line: 2 },
    user: {},
    raw: { mail: 'ana@example.com' },
    issues: [issue],
  });
});

test('flags a record that carries no source fields to map', async () => {
  const transform = await mapStage.create(mapStage.options.parse({ fields: { email: 'mail' } }), contextIn(tempDir()));
  const bare: Envelope = { seq: 3, key: 'seq:3', origin: { file: 'in.ndjson', line: 3 }, user: {}, issues: [] };
  const [envelope] = await collect(transform(streamOf([bare])));
  assert.deepEqual(envelope.issues, [
    { stage: 'map', code: 'map.no_source_record', level: 'error', message: 'in.ndjson:3: the record carries no source fields (raw) to map', field: 'raw' },
  ]);
});
