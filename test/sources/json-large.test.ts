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
  for await (const envelope of jsonSource.create(jsonSource.options.parse({ path: file, key: 'users' }), contextIn(dir))) {
    count++;
    assert.equal(envelope.seq, count);
    last = String(envelope.raw?.localId);
  }
  assert.equal(count, 200_000);
  assert.equal(last, 'u199999');
});
