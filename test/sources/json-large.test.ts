import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { jsonSource } from '../../sources/json.ts';
import { contextIn, tempDir } from './context.ts';

test('streams 200,000 elements of a large export one at a time', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'large.json');
  const out = createWriteStream(file);
  out.write('{"kind":"export","users":[');
  for (let index = 0; index < 200_000; index++) {
    if (!out.write(`${index === 0 ? '' : ','}{"localId":"u${index}"}`)) await once(out, 'drain');
  }
  out.end(']}');
  await once(out, 'finish');

  let count = 0;
  let last = '';
  const ctx = contextIn(dir);
  for await (const envelope of jsonSource.create(jsonSource.options.parse({ path: file, key: 'users' }), ctx)) {
    count++;
    // The first element comes out long before the file (about 4.6 MB) is read: it is not parsed whole.
    if (count === 1) assert.ok((ctx.runProgress.inputShare?.() ?? 1) < 0.5, `${ctx.runProgress.inputShare?.()} of the file read for its first element`);
    assert.equal(envelope.seq, count);
    last = String(envelope.raw?.localId);
  }
  assert.equal(count, 200_000);
  assert.equal(last, 'u199999');
});
