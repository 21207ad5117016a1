import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolate } from '../../pipelines/interpolate.ts';

test('replaces a set variable and keeps the surrounding text', () => {
  assert.deepEqual(interpolate('Bearer ${TOKEN}!', { TOKEN: 'abc' }), { value: 'Bearer abc!', missing: [], malformed: [] });
});

test('uses the default when the variable is unset or empty', () => {
  assert.deepEqual(interpolate('${URL:-http://127.0.0.1:8787}', {}), { value: 'http://127.0.0.1:8787', missing: [], malformed: [] });
  assert.deepEqual(interpolate('${URL:-x}', { URL: '' }), { value: 'x', missing: [], malformed: [] });
  assert.deepEqual(interpolate('${URL:-}', {}), { value: '', missing: [], malformed: [] });
});

test('reports every unset variable that has no default', () => {
  assert.deepEqual(interpolate('${A}/${B}/${C:-c}', { B: 'b' }), { value: '/b/c', missing: ['A'], malformed: [] });
});

test('reports a reference not written as ${NAME} or ${NAME:-default}, leaving it as it stands', () => {
  for (const text of ['${OUT-x}', '${OUT:=x}', '${OUT', '${}', '${1X}', '${O UT}']) {
    assert.deepEqual(interpolate(`out/${text}`, { OUT: 'o' }), { value: `out/${text}`, missing: [], malformed: [text] });
  }
  assert.deepEqual(interpolate('${A:-${B}}', {}).malformed, ['${A:-${B}']);
  assert.deepEqual(interpolate('${A:-a$b}', {}), { value: 'a$b', missing: [], malformed: [] });
});
