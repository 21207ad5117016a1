// Messages for people never carry a password hash, even one a message quotes without meaning to.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { failureReport } from '../../pipelines/errors.ts';
import { failureJson } from '../../pipelines/summary.ts';
import { createLogger, hideHashes } from '../../pipelines/log.ts';
import { runChain } from '../authpipe/cli.ts';
import { tempDir } from '../sources/context.ts';

const BCRYPT = '$2a$10$fgPOubgdJs90F1GK2u.Qye7Xyyi2ajrQJoB5LDG5bnITEvFR/xhZ.';
const FIREBASE_SCRYPT = 'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$42xEC+ixf3L2lw==$Bw==$8$14';
const SHA256_HEX = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8';

test('a headerless export read with a delimiter it does not use has its first row named in warnings, without the hashes in it', async () => {
  const file = path.join(tempDir(), 'leak.csv');
  writeFileSync(
    file,
    [`user_1;Mary Ann;Lee;mary@example.com;${BCRYPT};bcrypt`, `user_2;Bo;Ng;bo@example.com;${FIREBASE_SCRYPT};scrypt_firebase`, `user_3;Cy;Ho;cy@example.com;${SHA256_HEX};sha256`, ''].join('\n'),
  );
  const result = await runChain(`authpipe read csv '${file}' --delimiter , | authpipe map --preset clerk > /dev/null`);
  assert.equal(result.code, 0, result.stderr);
  // The warning is there, and names the row's other cells: only the hash is left out.
  assert.match(result.stderr, /has no id or primary_email_address column.*user_1;Mary Ann;Lee;mary@example\.com;\[hidden: looks like a password hash\];bcrypt/);
  for (const hash of [BCRYPT, BCRYPT.toLowerCase(), '$2a$10$', 'fgPOubgdJs90F1GK2u']) assert.ok(!result.stderr.includes(hash), `stderr holds ${hash}`);
});

test('hides the hash formats exports hold, and leaves the layouts messages describe readable', () => {
  for (const hash of ['5f4dcc3b5aa765d61d8327deb882cf99', '{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'sha1:64000:18:abcdEFGH:5f4dcc3b5aa765d6', BCRYPT, FIREBASE_SCRYPT, SHA256_HEX]) {
    assert.equal(hideHashes(`email "${hash}" is not a valid address`), 'email "[hidden: looks like a password hash]" is not a valid address', hash);
  }
  for (const layout of [
    '$2a$, $2b$, $2x$ or $2y$, a two-digit cost, $ and 53 characters of ./A-Za-z0-9',
    '$firebase-scrypt$v=1$r=<rounds>,m=<mem_cost>,ss=<separator>,sk=<signer key>$<salt>$<hash>, all base64',
    '$argon2id$v=19$m=<KiB>,t=<iterations>,p=<parallelism>$<salt>$<hash> (or argon2i, argon2d)',
  ]) {
    assert.equal(hideHashes(`the password hash does not have this layout: ${layout}`), `the password hash does not have this layout: ${layout}`);
  }
});

test('shows the characters a terminal would hide or act on by their code points, so a message names what is wrong', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (line) => Boolean(lines.push(line)) });
  log.warn('email "ana\u200b@example.com" and "\u202ecarl@example.com" and "\u001b[31mred"\tend');
  assert.deepEqual(lines, ['warning: email "ana<U+200B>@example.com" and "<U+202E>carl@example.com" and "<U+001B>[31mred"\tend\n']);
});

test('an unexpected error, whose text no one chose, is printed without the API key or password hash it may quote', () => {
  const error = new Error('request failed: {"authorization":"Bearer sk_test_a1B2c3D4e5","password_hash":"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}');
  const { text, exitCode } = failureReport(error);
  assert.equal(exitCode, 1);
  assert.ok(text.startsWith('authpipe: internal error: Error: request failed: {"authorization":"Bearer [API key]","password_hash":"[hidden: looks like a password hash]"}'), text);
  // The same failure as --json states it.
  const json = failureJson({ code: 'internal', message: error.message, exitCode: 1 });
  assert.ok(!json.includes('sk_test_') && !json.includes('$2a$10$') && json.includes('Bearer [API key]'), json);
});
