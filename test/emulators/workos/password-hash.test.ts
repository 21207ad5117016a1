import assert from 'node:assert/strict';
import { createCipheriv, createHash, scryptSync } from 'node:crypto';
import { after, test } from 'node:test';
import { isWellFormedPasswordHash, parseFirebaseScrypt, type FirebaseScryptHash } from '../../../emulators/workos/password-hash.ts';
import { startWithSdk } from './harness.ts';

// Vectors from ../shared/reference/test-vectors.md §1 (firebase-scrypt), §2-§4 (PHC, bcrypt).

const F1_PHC =
  '$firebase-scrypt$v=1$r=8,m=14,ss=Bw,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ';
const F1_CLI =
  '$firebase-scrypt$hash=lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$salt=42xEC+ixf3L2lw==$sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$ss=Bw==$r=8$m=14';
const BCRYPT_TEST = '$2a$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.';
const SCRYPT_B1 = '$scrypt$ln=14,r=16,p=1$MDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmY$E6+J/2qIuw+zJ355unJMbAcxsVkZyokpadY6vRU0uGfREBeeO8ivOZle3g+bKsFLK5dXPfELo4AsSY2+th5PZA';
const PBKDF2_K1 = '$pbkdf2-sha256$i=27500,l=32$AAECAwQFBgcICQoLDA0ODw$s+0/Lo8Z8qlEYCPLl1ocinIicNzU9KP7HwuPnYI8WhM';
const ARGON2 = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';

/** Firebase's modified scrypt, as test-vectors.md §1 states it. */
function firebaseHashOf(password: string, parsed: FirebaseScryptHash): Buffer {
  const key = scryptSync(password, Buffer.concat([parsed.salt, parsed.saltSeparator]), 32, { N: 2 ** parsed.memCost, r: parsed.rounds, p: 1, maxmem: 256 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(parsed.signerKey), cipher.final()]);
}

test('reads firebase-scrypt F1 in the PHC and the migration-CLI layouts to the same bytes, which verify user1password', () => {
  const phc = parseFirebaseScrypt(F1_PHC);
  const cli = parseFirebaseScrypt(F1_CLI);
  assert.ok(phc && cli);
  assert.deepEqual(phc, cli);
  assert.equal(phc.rounds, 8);
  assert.equal(phc.memCost, 14);
  assert.equal(phc.saltSeparator.toString('base64'), 'Bw==');
  assert.equal(phc.salt.toString('base64'), '42xEC+ixf3L2lw==');
  assert.deepEqual(firebaseHashOf('user1password', phc), phc.hash);
  assert.notDeepEqual(firebaseHashOf('User1password', phc), phc.hash);
});

test('reads the migration-CLI layout in any parameter order and with an empty separator', () => {
  const parsed = parseFirebaseScrypt('$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14');
  assert.deepEqual(
    parsed && { hash: parsed.hash.toString(), salt: parsed.salt.toString(), sk: parsed.signerKey.toString(), ss: parsed.saltSeparator.toString(), r: parsed.rounds, m: parsed.memCost },
    { hash: 'hash', salt: 'salt', sk: 'key', ss: 'sep', r: 8, m: 14 },
  );
  assert.equal(parseFirebaseScrypt('$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=$r=8$m=14')?.saltSeparator.length, 0);
  assert.deepEqual(parseFirebaseScrypt('$firebase-scrypt$m=14$r=8$ss=c2Vw$sk=a2V5$salt=c2FsdA$hash=aGFzaA'), parseFirebaseScrypt('$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14'));
});

test('rejects firebase-scrypt strings missing a part, repeating one or carrying bad base64', () => {
  for (const text of [
    '$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8',
    '$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14$r=9',
    '$firebase-scrypt$hash=aGF*aA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=8$m=14',
    '$firebase-scrypt$hash=aGFzaA==$salt=c2FsdA==$sk=a2V5$ss=c2Vw$r=eight$m=14',
    F1_PHC.replace('v=1', 'v=2'),
    F1_PHC.replace(',sk=', ',xk='),
    '$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw==,sk=a2V5$c2FsdA==$aGFzaA==',
  ]) {
    assert.equal(parseFirebaseScrypt(text), null, text);
  }
});

test('accepts bcrypt only in the 60-character $2a/$2b/$2x/$2y layout', () => {
  for (const hash of [BCRYPT_TEST, '$2b$10$.qHPp/srqo1NAAAAAvlkmOdqAbH2Rg0qPv2Txj3ZwXfjJnewSjc4m', '$2y$12$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy']) {
    assert.equal(isWellFormedPasswordHash('bcrypt', hash), true, hash);
  }
  for (const hash of ['d41d8cd98f00b204e9800998ecf8427e', 'sha1:1000:salt:hash', 'some-unknown-hash', '$2a$10$abcdefghij', `${BCRYPT_TEST}x`, '$2c$10$vVz26aE3xkpSS9HFgafcH.M0Ina2tRm.Kp08WcVfjipXccGakj6i.']) {
    assert.equal(isWellFormedPasswordHash('bcrypt', hash), false, hash);
  }
});

test('accepts scrypt, pbkdf2 and argon2 in their PHC shapes only', () => {
  assert.equal(isWellFormedPasswordHash('scrypt', SCRYPT_B1), true);
  assert.equal(isWellFormedPasswordHash('pbkdf2', PBKDF2_K1), true);
  assert.equal(isWellFormedPasswordHash('pbkdf2', '$pbkdf2-sha256$i=27500$8qeAg8keMTB9ctgwRYBQ8w$3Z83Ic8JUztntTF9PBmLJW02MIxLxTYPg2mt5N2TgwA'), true);
  assert.equal(isWellFormedPasswordHash('argon2', ARGON2), true);
  assert.equal(isWellFormedPasswordHash('scrypt', SCRYPT_B1.replace('ln=14,', '')), false);
  assert.equal(isWellFormedPasswordHash('pbkdf2', '$pbkdf2-sha256$27500$AAECAwQFBgcICQoLDA0ODw$s.0/Lo8Z8qlEYCPLl1ocinIicNzU9KP7HwuPnYI8WhM'), false);
  assert.equal(isWellFormedPasswordHash('argon2', ARGON2.replace('argon2id', 'argon3')), false);
  assert.equal(isWellFormedPasswordHash('scrypt', PBKDF2_K1), false);
});

test('accepts ssha and ssha256 as base64 of digest and salt, with or without the scheme prefix', () => {
  const salt = Buffer.from('salt1234');
  const ssha = Buffer.concat([createHash('sha1').update('secret').update(salt).digest(), salt]).toString('base64');
  const ssha256 = Buffer.concat([createHash('sha256').update('secret').update(salt).digest(), salt]).toString('base64');
  assert.equal(isWellFormedPasswordHash('ssha', ssha), true);
  assert.equal(isWellFormedPasswordHash('ssha', `{SSHA}${ssha}`), true);
  assert.equal(isWellFormedPasswordHash('ssha256', ssha256), true);
  assert.equal(isWellFormedPasswordHash('ssha256', ssha), false);
  assert.equal(isWellFormedPasswordHash('ssha', createHash('sha1').update('no salt').digest('base64')), false);
});

const { emulator, workos } = await startWithSdk({ writes: null, reads: null });
after(() => emulator.close());

test('creates users from firebase-scrypt F1 in both layouts through the SDK', async () => {
  const phcUser = await workos.userManagement.createUser({ email: 'f1-phc@example.com', passwordHash: F1_PHC, passwordHashType: 'firebase-scrypt' });
  const cliUser = await workos.userManagement.createUser({ email: 'f1-cli@example.com', passwordHash: F1_CLI, passwordHashType: 'firebase-scrypt' });
  assert.equal(emulator.store.users.get(phcUser.id)?.email, 'f1-phc@example.com');
  assert.equal(emulator.store.users.get(cliUser.id)?.email, 'f1-cli@example.com');
});

test('answers a malformed or unsupported hash with 400 invalid_password_hash, a GenericServerException', async () => {
  const attempts: [string, string, string][] = [
    ['bcrypt', '$2a$10$abcdefghij', 'password_hash is not a well-formed bcrypt hash.'],
    ['firebase-scrypt', F1_PHC.slice(0, -10).replace('$42xEC+ixf3L2lw', ''), 'password_hash is not a well-formed firebase-scrypt hash.'],
    ['md5', 'd41d8cd98f00b204e9800998ecf8427e', 'Unsupported password_hash_type.'],
    ['auth0', BCRYPT_TEST, 'Unsupported password_hash_type.'],
  ];
  for (const [type, hash, message] of attempts) {
    await assert.rejects(workos.userManagement.createUser({ email: `bad-${type}@example.com`, passwordHash: hash, passwordHashType: type as 'bcrypt' }), {
      name: 'GenericServerException',
      status: 400,
      rawData: { message, code: 'invalid_password_hash' },
    });
  }
  assert.equal(emulator.store.userByEmail('bad-bcrypt@example.com'), undefined);
});

test('requires password_hash and password_hash_type together', async () => {
  await assert.rejects(workos.userManagement.createUser({ email: 'half@example.com', passwordHash: BCRYPT_TEST }), { name: 'UnprocessableEntityException', status: 422, code: 'invalid_request_parameters' });
  await assert.rejects(workos.userManagement.createUser({ email: 'half@example.com', password: 'correct horse', passwordHashType: 'bcrypt' }), {
    status: 400,
    rawData: { message: 'password_hash_type goes with password_hash, not with password.', code: 'password_and_password_hash_type_provided' },
  });
  const pbkdf2User = await workos.userManagement.createUser({ email: 'k1@example.com', passwordHash: PBKDF2_K1, passwordHashType: 'pbkdf2' as 'bcrypt' });
  assert.equal(pbkdf2User.email, 'k1@example.com');
});
