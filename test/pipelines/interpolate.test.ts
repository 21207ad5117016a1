import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolate } from '../../pipelines/interpolate.ts';

test('replaces a set variable and keeps the surrounding text', () => {
  assert.deepEqual(interpolate('Bearer ${TOKEN}!', { TOKEN: 'abc' }), { value: 'Bearer abc!', missing: [] });
});

test('uses the default when the variable is unset or empty', () => {
  assert.deepEqual(interpolate('${URL:-http://127.0.0.1:8787}', {}), { value: 'http://127.0.0.1:8787', missing: [] });
  assert.deepEqual(interpolate('${URL:-x}', { URL: '' }), { value: 'x', missing: [] });
  assert.deepEqual(interpolate('${URL:-}', {}), { value: '', missing: [] });
});

test('reports every unset variable that has no default', () => {
  assert.deepEqual(interpolate('${A}/${B}/${C:-c}', { B: 'b' }), { value: '/b/c', missing: ['A'] });
});
