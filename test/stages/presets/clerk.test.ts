import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rawEnvelope, type Envelope } from '../../../pipelines/record.ts';
import { csvSource } from '../../../sources/csv.ts';
import { mapStage } from '../../../stages/map.ts';
import { collect, contextIn, fileWith, streamOf, tempDir } from '../../sources/context.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/clerk');

// test-vectors.md §4 and §1 (F1, F3), in the cells a Clerk export carries.
const BCRYPT_PASSWORD = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
const SIGNER_KEY = 'jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==';
const F1_DIGEST = `lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$42xEC+ixf3L2lw==$${SIGNER_KEY}$Bw==$8$14`;
const F1_PHC =
  '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ';
const F3_DIGEST =
  'zKVTMvnWVw5BBOZNUdnsalx4c4c7y/w7IS5p6Ut2+CfEFFlz37J9huyQfov4iizN8dbjvEJlM5tQaJP84+hfTw==$C0sHCg9ek77hsg==$ou9tdYTGyYm8kuR6Dt0Bp0kDuAYoXrK16mbZO4yGwAn3oLspjnN0/c41v8xZnO1n14J3MjKj1b2g6AUCAlFwMw==$Bw==$8$14';
const F3_PHC =
  '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=ou9tdYTGyYm8kuR6Dt0Bp0kDuAYoXrK16mbZO4yGwAn3oLspjnN0/c41v8xZnO1n14J3MjKj1b2g6AUCAlFwMw$C0sHCg9ek77hsg$zKVTMvnWVw5BBOZNUdnsalx4c4c7y/w7IS5p6Ut2+CfEFFlz37J9huyQfov4iizN8dbjvEJlM5tQaJP84+hfTw';
const ARGON2I = '$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';

async function mapClerk(records: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<Envelope[]> {
  const transform = await mapStage.create(mapStage.options.parse({ preset: 'clerk', ...extra }), contextIn(tempDir()));
  return collect(transform(streamOf(records.map((raw, index) => rawEnvelope(index + 1, { file: 'users.csv', line: index + 2 }, raw)))));
}

function withPassword(password_digest: string, password_hasher: string): Record<string, unknown> {
  return { id: 'user_1', primary_email_address: 'ana@example.com', password_digest, password_hasher };
}

async function mapCsv(content: string): Promise<Envelope[]> {
  const { dir, file } = fileWith('users.csv', content);
  const ctx = contextIn(dir);
  const transform = await mapStage.create(mapStage.options.parse({ preset: 'clerk' }), ctx);
  return collect(transform(csvSource.create(csvSource.options.parse({ path: file }), ctx)));
}

test('maps the Clerk export sample header order by column name', async () => {
  const [envelope] = await mapCsv(
    'id,first_name,last_name,username,primary_email_address,primary_phone_number,verified_email_addresses,unverified_email_addresses,verified_phone_numbers,unverified_phone_numbers,totp_secret,password_digest,password_hasher\n' +
      `user_06,Bcrypt,Tester,,bcrypt@test.com,,,,,,,${BCRYPT_PASSWORD},bcrypt\n`,
  );
  assert.equal(envelope.key, 'ext:user_06');
  assert.deepEqual(envelope.user, {
    email: 'bcrypt@test.com',
    emailVerified: false,
    firstName: 'Bcrypt',
    lastName: 'Tester',
    externalId: 'user_06',
    passwordHash: BCRYPT_PASSWORD,
    passwordHashType: 'bcrypt',
  });
  assert.deepEqual(envelope.issues, []);
});

test('maps the migration CLI header order, where username follows the email, by column name', async () => {
  const [envelope] = await mapCsv(
    'id,first_name,last_name,primary_email_address,username,primary_phone_number,verified_email_addresses,unverified_email_addresses,verified_phone_numbers,unverified_phone_numbers,totp_secret,password_digest,password_hasher\n' +
      'user_abc,Alice,Johnson,alice@example.com,alicej,+1555123,alice@example.com,,+1555123,,,$2a$10$someBcryptHash,bcrypt\n',
  );
  assert.deepEqual(envelope.user, {
    email: 'alice@example.com',
    emailVerified: true,
    firstName: 'Alice',
    lastName: 'Johnson',
    externalId: 'user_abc',
    metadata: { username: 'alicej' },
  });
  assert.deepEqual(envelope.issues, [
    {
      stage: 'map',
      code: 'hash.malformed',
      level: 'warning',
      message: 'users.csv:2: password_digest is not a valid bcrypt hash; the user is created without a password and must reset it',
      field: 'passwordHash',
    },
  ]);
});

test('keeps bcrypt digests in every accepted variant as bcrypt, whatever the case of the hasher name', async () => {
  const digests = [
    BCRYPT_PASSWORD,
    '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.',
    '$2b$10$.qHPp/srqo1NAAAAAvlkmOdqAbH2Rg0qPv2Txj3ZwXfjJnewSjc4m',
    '$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
  ];
  const envelopes = await mapClerk(digests.map((digest) => withPassword(digest, 'BCrypt')));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.user.passwordHash, envelope.user.passwordHashType, envelope.issues.length]),
    digests.map((digest) => [digest, 'bcrypt', 0]),
  );
});

test('drops a bcrypt digest that is not bcrypt-shaped with a warning that never repeats it', async () => {
  const notBcrypt = ['d41d8cd98f00b204e9800998ecf8427e', 'sha1:1000:salt:hash', `${BCRYPT_PASSWORD}x`, '$2a$1$fgPOubgdJs90F1GK2u'];
  const envelopes = await mapClerk(notBcrypt.map((digest) => withPassword(digest, 'bcrypt')));
  for (const [index, envelope] of envelopes.entries()) {
    assert.equal(envelope.user.passwordHash, undefined);
    assert.equal(envelope.user.passwordHashType, undefined);
    assert.deepEqual(
      envelope.issues.map((issue) => [issue.code, issue.level]),
      [['hash.malformed', 'warning']],
    );
    assert.ok(!envelope.issues[0].message.includes(notBcrypt[index]));
  }
});

test('converts scrypt_firebase digests to the documented firebase-scrypt PHC string', async () => {
  const [f1, f3] = await mapClerk([withPassword(F1_DIGEST, 'scrypt_firebase'), withPassword(F3_DIGEST, 'scrypt_firebase')]);
  assert.equal(f1.user.passwordHash, F1_PHC);
  assert.equal(f1.user.passwordHashType, 'firebase-scrypt');
  assert.equal(f3.user.passwordHash, F3_PHC);
  assert.deepEqual([...f1.issues, ...f3.issues], []);
});

test('converts a scrypt_firebase digest written in URL-safe base64 to the standard alphabet (test-vectors §1b)', async () => {
  const urlSafe = F3_DIGEST.replaceAll('+', '-').replaceAll('/', '_');
  const [f3] = await mapClerk([withPassword(urlSafe, 'scrypt_firebase')]);
  assert.equal(f3.user.passwordHash, F3_PHC);
});

test('drops a scrypt_firebase digest without six parts, with parameters Firebase never uses, or with parts that are no base64 as malformed: the user is kept', async () => {
  const digests = [
    `abc$def$${SIGNER_KEY}$Bw==$8`,
    `abc$def$${SIGNER_KEY}$Bw==$eight$14`,
    `$def$${SIGNER_KEY}$Bw==$8$14`,
    `${F1_DIGEST}$1`,
    `abc$def$${SIGNER_KEY}$Bw==$8$99999`,
    `abc$def$${SIGNER_KEY}$Bw==$9$14`,
    `lSrf!!!$def$${SIGNER_KEY}$Bw==$8$14`,
    `abc$def$${SIGNER_KEY}$B w$8$14`,
  ];
  const envelopes = await mapClerk(digests.map((digest) => withPassword(digest, 'scrypt_firebase')));
  assert.deepEqual(
    envelopes.map((envelope) => [envelope.user.passwordHash, envelope.issues.map((issue) => issue.code)]),
    digests.map(() => [undefined, ['hash.malformed']]),
  );
  assert.ok(envelopes.every((envelope) => !envelope.issues[0].message.includes(SIGNER_KEY)));
});

test('keeps argon2i and argon2id PHC strings as argon2, and flags a non-PHC argon2 digest', async () => {
  // Shaped like an argon2id PHC string; only its format matters here.
  const argon2id = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA';
  // A PHC string cut short, one without its version, one of the other variant: kept, validate would reject the row.
  const malformed = ['c29tZXNhbHQ', '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ', '$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$aGFzaA', argon2id];
  const [i, id, ...bad] = await mapClerk([
    withPassword(ARGON2I, 'argon2i'),
    withPassword(argon2id, 'argon2id'),
    ...malformed.map((digest, index) => withPassword(digest, index === malformed.length - 1 ? 'argon2i' : 'argon2id')),
  ]);
  assert.deepEqual([i.user.passwordHash, i.user.passwordHashType], [ARGON2I, 'argon2']);
  assert.deepEqual([id.user.passwordHash, id.user.passwordHashType], [argon2id, 'argon2']);
  assert.deepEqual(
    bad.map((envelope) => [envelope.issues.map((issue) => `${issue.code} ${issue.level}`), envelope.user.passwordHash]),
    malformed.map(() => [['hash.malformed warning'], undefined]),
  );
});

test('drops digests of hashers WorkOS cannot take with a warning naming the hasher, never the digest', async () => {
  const cases: [string, string][] = [
    ['md5', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['pbkdf2_sha256', 'pbkdf2_sha256$27500$AAECAwQFBgcICQoLDA0ODw==$s+0/Lo8Z8qlEYCPLl1ocinIicNzU9KP7HwuPnYI8WhM='],
    ['phpass', '$P$Bj8cp3QJ3Q4mMc9wWxoyPlSz7v6PuG/'],
    ['awscognito', 'awscognito#eu-west-1_Ab12Cd34E#7f4e1c5a'],
  ];
  const envelopes = await mapClerk(cases.map(([hasher, digest]) => withPassword(digest, hasher)));
  assert.deepEqual(
    envelopes.map((envelope) => envelope.issues),
    cases.map(([hasher], index) => [
      {
        stage: 'map',
        code: 'hash.unsupported',
        level: 'warning',
        message: `users.csv:${index + 2}: password_hasher "${hasher}" has no WorkOS equivalent; the user is created without a password and must reset it`,
        field: 'passwordHash',
      },
    ]),
  );
  assert.ok(envelopes.every((envelope) => envelope.user.passwordHash === undefined && envelope.user.passwordHashType === undefined));
});

test('flags a digest without a hasher, and a hasher whose digest is empty; a user with neither has no password to lose', async () => {
  const [noHasher, emptyMd5, emptyBcrypt, neither] = await mapClerk([withPassword(BCRYPT_PASSWORD, ''), withPassword('', 'md5'), withPassword('  ', 'bcrypt'), withPassword('', '')]);
  assert.deepEqual(
    noHasher.issues.map((issue) => [issue.code, issue.message]),
    [['hash.unsupported', 'users.csv:2: no password_hasher is given; the user is created without a password and must reset it']],
  );
  assert.equal(noHasher.user.passwordHash, undefined);
  assert.deepEqual(
    [...emptyMd5.issues, ...emptyBcrypt.issues].map((issue) => [issue.code, issue.level, issue.message]),
    [
      ['hash.empty', 'warning', 'users.csv:3: password_hasher "md5" is given but password_digest is empty; the user is created without a password and must reset it'],
      ['hash.empty', 'warning', 'users.csv:4: password_hasher "bcrypt" is given but password_digest is empty; the user is created without a password and must reset it'],
    ],
  );
  assert.deepEqual(emptyMd5.user, { email: 'ana@example.com', emailVerified: false, externalId: 'user_1' });
  assert.deepEqual(neither.issues, []);
});

test('marks the email verified only when the primary address is a whole entry of the verified list, in any case', async () => {
  const lists = [
    'ana@example.com',
    'old@example.com,ana@example.com',
    'old@example.com; ANA@EXAMPLE.COM',
    'old@example.com|ana@example.com',
    'old@example.com ana@example.com',
    'old@example.com\nana@example.com',
    '["old@example.com","ana@example.com"]',
    'hana@example.com',
    'ana@example.com.au',
    'ana@example.co',
    '',
  ];
  const envelopes = await mapClerk(lists.map((verified) => ({ primary_email_address: 'Ana@Example.com', verified_email_addresses: verified })));
  assert.deepEqual(
    envelopes.map((envelope) => envelope.user.emailVerified),
    [true, true, true, true, true, true, true, false, false, false, false],
  );
});

test('carries the TOTP secret, and the username into metadata only when present', async () => {
  const [withBoth, withNeither] = await mapClerk([
    { id: 'user_1', primary_email_address: 'ana@example.com', username: 'anasilva', totp_secret: 'JBSWY3DPEHPK3PXP' },
    { id: 'user_2', primary_email_address: 'bo@example.com', username: '', totp_secret: '' },
  ]);
  assert.equal(withBoth.user.totpSecret, 'JBSWY3DPEHPK3PXP');
  assert.deepEqual(withBoth.user.metadata, { username: 'anasilva' });
  assert.deepEqual(withNeither.user, { email: 'bo@example.com', emailVerified: false, externalId: 'user_2' });
});

test('a column the preset reads as text holding an object or a list (a JSON export) is field.invalid_type, naming the column and never the value', async () => {
  const envelopes = await mapClerk([
    { id: 'user_1', primary_email_address: 'ana@example.com', first_name: { given: 'Ana' } },
    { id: 'user_2', primary_email_address: ['bo@example.com'] },
    { id: 'user_3', primary_email_address: 'cy@example.com', password_digest: { hash: '$2a$10$secret' }, password_hasher: 'bcrypt' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => envelope.issues.map((issue) => [issue.level, issue.code, issue.message])),
    [
      [['error', 'field.invalid_type', 'users.csv:2: first_name holds an object or a list, not text']],
      [['error', 'field.invalid_type', 'users.csv:3: primary_email_address holds an object or a list, not text']],
      [['error', 'field.invalid_type', 'users.csv:4: password_digest holds an object or a list, not text']],
    ],
  );
});

test('lets declarative fields replace what the preset set', async () => {
  const [envelope] = await mapClerk([{ id: 'user_1', primary_email_address: ' Ana@Example.COM ', first_name: 'Ana', last_name: 'Silva' }], {
    fields: { email: { from: 'primary_email_address', lowercase: true }, lastName: 'family_name' },
  });
  assert.deepEqual(envelope.user, { email: 'ana@example.com', emailVerified: false, firstName: 'Ana', externalId: 'user_1' });
});

test('maps the bundled Clerk fixture with its org and role files', async () => {
  const ctx = contextIn(FIXTURES);
  const transform = await mapStage.create(
    mapStage.options.parse({ preset: 'clerk', orgs: path.join(FIXTURES, 'org-mapping.csv'), roles: path.join(FIXTURES, 'role-mapping.csv') }),
    ctx,
  );
  const envelopes = await collect(transform(csvSource.create(csvSource.options.parse({ path: path.join(FIXTURES, 'users.csv') }), ctx)));
  assert.equal(envelopes.length, 21);
  const byId = new Map(envelopes.map((envelope) => [envelope.user.externalId, envelope]));
  assert.deepEqual(byId.get('user_2aNa01')?.user.orgs, [
    { externalId: 'org_acme', name: 'Acme, Inc.', roles: ['admin', 'billing'] },
    { externalId: 'org_globex', name: 'Globex', roles: ['member'] },
  ]);
  assert.equal(byId.get('user_2jOs03')?.user.passwordHash, F1_PHC);
  assert.equal(byId.get('user_2bRu02')?.user.totpSecret, 'JBSWY3DPEHPK3PXP');
  assert.deepEqual(
    [byId.get('user_2kW13')?.user.lastName, byId.get('user_2Li05')?.user.firstName, byId.get('user_2mL18')?.user.firstName],
    ['Kowalski, Jr.', '李', 'Maria'],
  );
  assert.deepEqual(
    envelopes.flatMap((envelope) => envelope.issues.map((issue) => `${envelope.user.externalId} ${issue.code}`)),
    [
      'user_2mD506 hash.unsupported',
      'user_2pB07 hash.unsupported',
      'user_2oB12 hash.malformed',
      'user_2aW15 hash.unsupported',
      'user_2eP16 hash.unsupported',
      'user_2sF17 hash.malformed',
      'user_2xX20 hash.unsupported',
    ],
  );
  const messages = envelopes.flatMap((envelope) => envelope.issues.map((issue) => issue.message)).join('\n');
  for (const envelope of envelopes) {
    const digest = envelope.raw?.password_digest;
    if (typeof digest === 'string' && digest !== '') assert.ok(!messages.includes(digest));
  }
});
