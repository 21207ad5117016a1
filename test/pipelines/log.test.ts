// Messages for people never carry a password hash, even one a message quotes without meaning to.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../authpipe/cli.ts';
import { tempDir } from '../sources/context.ts';

const BCRYPT = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
const FIREBASE_SCRYPT = 'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$42xEC+ixf3L2lw==$Bw==$8$14';
const SHA256_HEX = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8';

test('a headerless export read with the wrong delimiter has its first row named in warnings, without the hashes in it', async () => {
  const file = path.join(tempDir(), 'leak.csv');
  writeFileSync(
    file,
    [`user_1;Mary Ann;Lee;mary@example.com;${BCRYPT};bcrypt`, `user_2;Bo;Ng;bo@example.com;${FIREBASE_SCRYPT};scrypt_firebase`, `user_3;Cy;Ho;cy@example.com;${SHA256_HEX};sha256`, ''].join('\n'),
  );
  const result = await runChain(`authpipe read csv '${file}' | authpipe map --preset clerk > /dev/null`);
  assert.equal(result.code, 0, result.stderr);
  // The warning is there, and names the row's other cells: only the hash is left out.
  assert.match(result.stderr, /has no id or primary_email_address column.*user_1;Mary Ann;Lee;mary@example\.com;\[hidden: looks like a password hash\];bcrypt/);
  for (const hash of [BCRYPT, BCRYPT.toLowerCase(), '$2a$10$', 'fgPOubgdJs90F1GK2u']) assert.ok(!result.stderr.includes(hash), `stderr holds ${hash}`);
});
