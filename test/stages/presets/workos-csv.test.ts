import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rawEnvelope, type Envelope } from '../../../pipelines/record.ts';
import { csvSource } from '../../../sources/csv.ts';
import { mapStage } from '../../../stages/map.ts';
import { collect, contextIn, streamOf, tempDir } from '../../sources/context.ts';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/workos/users.csv');
const BCRYPT_PASSWORD = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';

async function mapRows(rows: Record<string, string>[]): Promise<Envelope[]> {
  const transform = await mapStage.create(mapStage.options.parse({ preset: 'workos-csv' }), contextIn(tempDir()));
  return collect(transform(streamOf(rows.map((raw, index) => rawEnvelope(index + 1, { file: 'users.csv', line: index + 2 }, raw)))));
}

async function mapRow(row: Record<string, string>): Promise<Envelope> {
  const [envelope] = await mapRows([row]);
  return envelope;
}

test('maps every column of a WorkOS import row onto the user and its one org', async () => {
  const envelope = await mapRow({
    email: 'ana@example.com',
    first_name: 'Ana',
    last_name: 'Silva',
    email_verified: 'true',
    external_id: 'crm-1001',
    password_hash: BCRYPT_PASSWORD,
    password_hash_type: 'bcrypt',
    metadata: '{"plan":"pro, annual","seats":5,"tags":["vip"],"note":null,"empty":""}',
    org_id: 'org_01HZ3K8Q2V7W9X1Y4B6C8D0E2F',
    org_external_id: 'acme',
    org_name: 'Acme, Inc.',
    role_slugs: 'admin, billing,,',
  });
  assert.equal(envelope.key, 'ext:crm-1001');
  assert.deepEqual(envelope.user, {
    email: 'ana@example.com',
    firstName: 'Ana',
    lastName: 'Silva',
    emailVerified: true,
    externalId: 'crm-1001',
    passwordHash: BCRYPT_PASSWORD,
    passwordHashType: 'bcrypt',
    metadata: { plan: 'pro, annual', seats: '5', tags: '["vip"]' },
    orgs: [{ id: 'org_01HZ3K8Q2V7W9X1Y4B6C8D0E2F', externalId: 'acme', name: 'Acme, Inc.', roles: ['admin', 'billing'] }],
  });
  assert.deepEqual(envelope.issues, []);
});

test('reads email_verified words in any case and leaves an empty cell unset', async () => {
  const words = ['true', 'FALSE', 'Yes', 'no', '1', '0', ''];
  const envelopes = await mapRows(words.map((email_verified) => ({ email: 'a@example.com', email_verified })));
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user.emailVerified),
    [true, false, true, false, true, false, undefined],
  );
});

test('rejects an email_verified value that is not a boolean word', async () => {
  const envelope = await mapRow({ email: 'zoe@example.de', email_verified: 'maybe' });
  assert.deepEqual(envelope.user, { email: 'zoe@example.de' });
  assert.deepEqual(envelope.issues, [
    {
      stage: 'map',
      code: 'field.invalid_boolean',
      level: 'error',
      message: 'users.csv:2: email_verified is not one of true/false/1/0/yes/no',
      field: 'emailVerified',
    },
  ]);
});

test('keeps a metadata integer past 2^53 as its exact digits (metadata values are text in WorkOS)', async () => {
  const [envelope] = await mapRows([{ email: 'a@example.com', metadata: '{"crm_id":12345678901234567890,"seats":5}' }]);
  assert.deepEqual(envelope.user.metadata, { crm_id: '12345678901234567890', seats: '5' });
});

test('rejects a metadata cell that is not a JSON object', async () => {
  const envelopes = await mapRows(['{not json}', '["a"]', '"text"', 'null'].map((metadata) => ({ email: 'a@example.com', metadata })));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.user.metadata, envelope.issues]),
    [2, 3, 4, 5].map((line) => [
      undefined,
      [{ stage: 'map', code: 'metadata.invalid_json', level: 'error', message: `users.csv:${line}: metadata is not a JSON object`, field: 'metadata' }],
    ]),
  );
});

test('takes metadata that is an object itself, as a JSON export holds it, and none for null', async () => {
  const transform = await mapStage.create(mapStage.options.parse({ preset: 'workos-csv' }), contextIn(tempDir()));
  const records = [
    { email: 'ana@example.com', metadata: { plan: 'pro', seats: 3 } },
    { email: 'bo@example.com', metadata: null },
    { email: 'cy@example.com', metadata: ['pro'] },
  ];
  const envelopes = await collect(transform(streamOf(records.map((raw, index) => rawEnvelope(index + 1, { file: 'users.json', line: index + 2 }, raw)))));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.user.metadata, envelope.issues.map((issue) => issue.code)]),
    [
      [{ plan: 'pro', seats: '3' }, []],
      [undefined, []],
      [undefined, ['metadata.invalid_json']],
    ],
  );
});

test('drops metadata values over the WorkOS limits with a warning', async () => {
  const envelope = await mapRow({ email: 'a@example.com', metadata: JSON.stringify({ plan: 'pro', bio: 'x'.repeat(601) }) });
  assert.deepEqual(envelope.user.metadata, { plan: 'pro' });
  assert.deepEqual(
    envelope.issues.map((issue) => [issue.code, issue.level, issue.message]),
    [['metadata.dropped', 'warning', 'users.csv:2: metadata "bio" is left out: the value is longer than 600 characters']],
  );
});

test('keeps a hash of a WorkOS type and drops, with a warning, one of another type or without a type', async () => {
  const [firebase, md5, untyped, hashless] = await mapRows([
    { email: 'a@example.com', password_hash: '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=c2s$c2FsdA$aGFzaA', password_hash_type: 'Firebase-Scrypt' },
    { email: 'b@example.com', password_hash: 'd41d8cd98f00b204e9800998ecf8427e', password_hash_type: 'md5' },
    { email: 'c@example.com', password_hash: BCRYPT_PASSWORD, password_hash_type: '' },
    { email: 'd@example.com', password_hash: '', password_hash_type: 'bcrypt' },
  ]);
  assert.deepEqual(firebase.user, {
    email: 'a@example.com',
    passwordHash: '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=c2s$c2FsdA$aGFzaA',
    passwordHashType: 'firebase-scrypt',
  });
  assert.deepEqual(md5.user, { email: 'b@example.com' });
  assert.deepEqual(
    [...md5.issues, ...untyped.issues].map((issue) => [issue.code, issue.level, issue.message]),
    [
      ['hash.unsupported', 'warning', 'users.csv:3: WorkOS does not accept the hash type "md5"; the user is created without a password and must reset it'],
      ['hash.unsupported', 'warning', 'users.csv:4: password_hash_type is empty; the user is created without a password and must reset it'],
    ],
  );
  assert.deepEqual(untyped.user, { email: 'c@example.com' });
  assert.deepEqual(
    hashless.issues.map((issue) => [issue.code, issue.level, issue.message]),
    [['hash.empty', 'warning', 'users.csv:5: password_hash_type "bcrypt" is given but password_hash is empty; the user is created without a password and must reset it']],
  );
  assert.deepEqual(hashless.user, { email: 'd@example.com' });
});

test('makes no membership from an org name or roles without an org id, and says so', async () => {
  const envelope = await mapRow({ email: 'a@example.com', org_name: 'Orphan Org', role_slugs: 'admin' });
  assert.equal(envelope.user.orgs, undefined);
  assert.deepEqual(
    envelope.issues.map((issue) => [issue.code, issue.level]),
    [['org.unidentified', 'warning']],
  );
});

test('maps each row of a multi-org user on its own, leaving the merge to later stages', async () => {
  const row = { email: 'ana@example.com', external_id: 'crm-1001' };
  const [first, second] = await mapRows([
    { ...row, org_external_id: 'acme', role_slugs: 'admin' },
    { ...row, org_external_id: 'globex' },
  ]);
  assert.deepEqual([first.key, second.key], ['ext:crm-1001', 'ext:crm-1001']);
  assert.deepEqual(first.user.orgs, [{ externalId: 'acme', roles: ['admin'] }]);
  assert.deepEqual(second.user.orgs, [{ externalId: 'globex', roles: [] }]);
});

test("reads back a name the csv sink wrote after a ' (it starts as a formula would) as the name itself; other quotes stay", async () => {
  const envelope = await mapRow({ email: 'ana@example.com', first_name: "'-", last_name: "'=O'Neill", org_external_id: 'acme', org_name: "'@home" });
  assert.deepEqual([envelope.user.firstName, envelope.user.lastName, envelope.user.orgs?.[0].name], ['-', "=O'Neill", '@home']);
  const quoted = await mapRow({ email: 'bo@example.com', first_name: "'Neill", last_name: "''=x" });
  assert.deepEqual([quoted.user.firstName, quoted.user.lastName], ["'Neill", "''=x"]);
});

test('maps the bundled WorkOS CSV fixture, keeping formula-looking names as text for the sinks to neutralise', async () => {
  const ctx = contextIn(path.dirname(FIXTURE));
  const transform = await mapStage.create(mapStage.options.parse({ preset: 'workos-csv' }), ctx);
  const envelopes = await collect(transform(csvSource.create(csvSource.options.parse({ path: FIXTURE }), ctx)));
  assert.equal(envelopes.length, 13);
  assert.equal(envelopes[4].user.firstName, '=HYPERLINK("https://evil.example/","Click me")');
  assert.deepEqual(envelopes[0].user.metadata, { plan: 'pro, annual', seats: '5' });
  assert.deepEqual(
    envelopes.flatMap((envelope) => envelope.issues.map((issue) => `${envelope.origin.line} ${issue.code} ${issue.level}`)),
    ['8 field.invalid_boolean error', '9 metadata.invalid_json error', '12 hash.unsupported warning', '14 org.unidentified warning'],
  );
});
