import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Envelope } from '../../../pipelines/record.ts';
import { envelopeOf, validator } from './run.ts';

const DISTANCE = 100_000;

/** Row 1 holds ana@example.com and user_ana; then DISTANCE rows of other values; then both values come back. */
async function* rowsWithLateRepeats(): AsyncGenerator<Envelope> {
  yield envelopeOf({ email: 'ana@example.com', externalId: 'user_ana' }, 2);
  for (let index = 1; index <= DISTANCE; index++) yield envelopeOf({ email: `person${index}@example.com`, externalId: `user_${index}` }, index + 2);
  yield envelopeOf({ email: 'ANA@example.com', externalId: 'user_new' }, DISTANCE + 3);
  yield envelopeOf({ email: 'new@example.com', externalId: 'user_ana' }, DISTANCE + 4);
}

test('reports a value first seen 100,000 rows earlier, naming that first row', async () => {
  const transform = await validator(['duplicates']);
  const messages: string[] = [];
  for await (const envelope of transform(rowsWithLateRepeats())) {
    for (const issue of envelope.issues) messages.push(`${issue.code} ${issue.message}`);
  }
  assert.deepEqual(messages, [
    'email.duplicate users.csv:100003: ana@example.com already appears at users.csv:2',
    'external_id.duplicate users.csv:100004: external id "user_ana" already appears at users.csv:2',
  ]);
});
