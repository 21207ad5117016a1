import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRate } from '../../pipelines/rate.ts';

test('parses rates written as requests per window', () => {
  assert.deepEqual(parseRate('500/10s'), { limit: 500, windowMs: 10_000 });
  assert.deepEqual(parseRate('50/1s'), { limit: 50, windowMs: 1000 });
  assert.deepEqual(parseRate('50/s'), { limit: 50, windowMs: 1000 });
  assert.deepEqual(parseRate('1000/1m'), { limit: 1000, windowMs: 60_000 });
  assert.deepEqual(parseRate('100/500ms'), { limit: 100, windowMs: 500 });
  assert.deepEqual(parseRate(' 6000 / 1h '), { limit: 6000, windowMs: 3_600_000 });
});

test('rejects a malformed rate with code rate.invalid and the text in the message', () => {
  for (const text of ['', '500', '500/10', '0/1s', '500/0s', 'ten/1s', '5/1d', '-5/1s']) {
    assert.throws(() => parseRate(text), { code: 'rate.invalid', message: `invalid rate "${text}": expected requests/window such as 500/10s, 50/1s, 1000/1m or 100/500ms` });
  }
});
