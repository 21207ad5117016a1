import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserDraft } from '../../../pipelines/record.ts';
import { findings, validate } from './run.ts';

// test-vectors.md §1a, §1b, §2, §3 and §4.
const FIREBASE_PHC =
  '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ';
const FIREBASE_TOOL_LAYOUT =
  '$firebase-scrypt$hash=lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$salt=42xEC+ixf3L2lw==$sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$ss=Bw==$r=8$m=14';
const PBKDF2 = '$pbkdf2-sha256$i=27500,l=32$AAECAwQFBgcICQoLDA0ODw$s+0/Lo8Z8qlEYCPLl1ocinIicNzU9KP7HwuPnYI8WhM';
const SCRYPT =
  '$scrypt$ln=14,r=16,p=1$MDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmY$E6+J/2qIuw+zJ355unJMbAcxsVkZyokpadY6vRU0uGfREBeeO8ivOZle3g+bKsFLK5dXPfELo4AsSY2+th5PZA';
const ARGON2 = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';

const ACCEPTED: UserDraft[] = [
  { passwordHashType: 'bcrypt', passwordHash: '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.' },
  { passwordHashType: 'bcrypt', passwordHash: '$2b$10$.qHPp/srqo1NAAAAAvlkmOdqAbH2Rg0qPv2Txj3ZwXfjJnewSjc4m' },
  { passwordHashType: 'bcrypt', passwordHash: '$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy' },
  { passwordHashType: 'firebase-scrypt', passwordHash: FIREBASE_PHC },
  { passwordHashType: 'firebase-scrypt', passwordHash: FIREBASE_TOOL_LAYOUT },
  { passwordHashType: 'firebase-scrypt', passwordHash: '$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=$r=8$m=14' },
  { passwordHashType: 'firebase-scrypt', passwordHash: '$firebase-scrypt$v=1$sk=a2V5,ss=c2Vw,m=14,r=8$c2FsdA$aGFzaA' },
  { passwordHashType: 'pbkdf2', passwordHash: PBKDF2 },
  { passwordHashType: 'pbkdf2', passwordHash: '$pbkdf2-sha512$i=100000$c2FsdA$aGFzaA' },
  { passwordHashType: 'scrypt', passwordHash: SCRYPT },
  { passwordHashType: 'argon2', passwordHash: ARGON2 },
  { passwordHashType: 'argon2', passwordHash: '$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA' },
  { passwordHashType: 'ssha', passwordHash: 'e1NTSEF9c29tZWhhc2g=' },
  { passwordHashType: 'ssha256', passwordHash: 'c29tZWhhc2hhbmRzYWx0' },
  { firstName: 'no password at all' },
];

test('accepts each hash in the layout of its type, from the published test vectors', async () => {
  const envelopes = await validate(['hash'], ACCEPTED);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    ACCEPTED.map(() => []),
  );
});

const MISMATCHED: UserDraft[] = [
  { passwordHashType: 'bcrypt', passwordHash: 'd41d8cd98f00b204e9800998ecf8427e' },
  { passwordHashType: 'bcrypt', passwordHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { passwordHashType: 'bcrypt', passwordHash: 'sha1:1000:salt:hash' },
  { passwordHashType: 'bcrypt', passwordHash: '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i' },
  { passwordHashType: 'bcrypt', passwordHash: '$2z$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.' },
  { passwordHashType: 'firebase-scrypt', passwordHash: 'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==' },
  { passwordHashType: 'firebase-scrypt', passwordHash: '$firebase-scrypt$v=1$r=8,m=14,ss=Bw$42xEC+ixf3L2lw$bFNyZg' },
  { passwordHashType: 'firebase-scrypt', passwordHash: '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=a2V5,sk=a2V5$c2FsdA$aGFzaA' },
  { passwordHashType: 'firebase-scrypt', passwordHash: '$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=eight$m=14' },
  {
    passwordHashType: 'firebase-scrypt',
    passwordHash: '$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw==,sk=a2V5$c2FsdA==$aGFzaA==',
  },
  { passwordHashType: 'pbkdf2', passwordHash: '$pbkdf2-sha256$27500$AAECAwQFBgcICQoLDA0ODw$s.0/Lo8Z8qlEYCPLl1ocinIicNzU9KP7HwuPnYI8WhM' },
  { passwordHashType: 'pbkdf2', passwordHash: '$pbkdf2-md5$i=1000$c2FsdA$aGFzaA' },
  { passwordHashType: 'scrypt', passwordHash: '00112233445566778899aabbccddeeff:13af89ff6a88bb0f' },
  { passwordHashType: 'argon2', passwordHash: '$argon2id$v=16$m=65536,t=3,p=4$c29tZXNhbHQ$aGFzaA' },
  { passwordHashType: 'argon2', passwordHash: SCRYPT },
];

test('rejects a hash that does not have the layout of its type as hash.format_mismatch', async () => {
  const envelopes = await validate(['hash'], MISMATCHED);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    MISMATCHED.map(() => ['error hash.format_mismatch']),
  );
  assert.equal(
    envelopes[0].issues[0].message,
    'users.csv:2: the password hash does not have the bcrypt layout: $2a$, $2b$, $2x$ or $2y$, a two-digit cost, $ and 53 characters of ./A-Za-z0-9',
  );
  assert.equal(envelopes[0].issues[0].field, 'passwordHash');
});

test('never puts the hash itself in a message', async () => {
  const digest = 'd41d8cd98f00b204e9800998ecf8427e';
  const envelopes = await validate(['hash'], [...MISMATCHED, { passwordHash: digest }, { passwordHash: digest, passwordHashType: digest as never }]);
  for (const envelope of envelopes) {
    assert.equal(envelope.issues.length, 1);
    assert.ok(!envelope.issues[0].message.includes(String(envelope.user.passwordHash)), envelope.issues[0].message);
  }
});

test('only warns about ssha hashes that are not base64, since their WorkOS format is unconfirmed', async () => {
  const envelopes = await validate(['hash'], [
    { passwordHashType: 'ssha', passwordHash: '{SSHA}c29tZWhhc2g=' },
    { passwordHashType: 'ssha256', passwordHash: 'not base64!' },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['warning hash.unverified_format'], ['warning hash.unverified_format']],
  );
  assert.equal(
    envelopes[0].issues[0].message,
    "users.csv:2: the ssha password hash is not base64; WorkOS's ssha format is unconfirmed, so it is sent as is",
  );
});

test('asks for the type of a hash, and for a type WorkOS knows', async () => {
  const envelopes = await validate(['hash'], [
    { passwordHash: '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.' },
    { passwordHash: 'd41d8cd98f00b204e9800998ecf8427e', passwordHashType: 'md5' as never },
    { passwordHash: 'd41d8cd98f00b204e9800998ecf8427e', passwordHashType: 'd41d8cd98f00b204e9800998ecf8427e' as never },
  ]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error hash.type_missing'], ['error hash.type_unsupported'], ['error hash.type_unsupported']],
  );
  assert.equal(envelopes[0].issues[0].field, 'passwordHashType');
  assert.equal(
    envelopes[1].issues[0].message,
    'users.csv:3: WorkOS does not accept "md5" as a hash type; it takes bcrypt, firebase-scrypt, scrypt, argon2, pbkdf2, ssha, ssha256',
  );
  assert.equal(
    envelopes[2].issues[0].message,
    'users.csv:4: WorkOS does not accept an unrecognised name as a hash type; it takes bcrypt, firebase-scrypt, scrypt, argon2, pbkdf2, ssha, ssha256',
  );
});

test('rejects a hash type without a hash as hash.missing', async () => {
  const envelopes = await validate(['hash'], [{ passwordHashType: 'bcrypt' }, { passwordHashType: 'argon2', passwordHash: '' }]);
  assert.deepEqual(
    envelopes.map((envelope) => findings(envelope)),
    [['error hash.missing'], ['error hash.missing']],
  );
  assert.equal(envelopes[0].issues[0].message, 'users.csv:2: the hash type "bcrypt" is set but no password hash is given');
});
