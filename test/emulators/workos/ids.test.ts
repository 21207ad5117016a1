import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdFactory } from '../../../emulators/workos/ids.ts';

test('makes prefixed 26-character Crockford ULIDs whose time part is the current millisecond', () => {
  const before = Date.now();
  const id = createIdFactory()('auth_challenge');
  const after = Date.now();
  assert.match(id, /^auth_challenge_[0-9A-HJKMNP-TV-Z]{26}$/);
  const time = [...id.slice('auth_challenge_'.length, 'auth_challenge_'.length + 10)].reduce((value, char) => value * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(char), 0);
  assert.ok(time >= before && time <= after, `${time} outside ${before}..${after}`);
});

test('makes ids that sort in creation order, also within one millisecond', () => {
  const newId = createIdFactory();
  const ids = Array.from({ length: 5000 }, () => newId('user'));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});
