import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Envelope } from '../../../pipelines/record.ts';
import { envelopeOf, findings, validator } from './run.ts';

const FILLER_ROWS = 1000;

/** Values a row refused for its email, then for its external id, each asked for again after many other rows. */
async function* rows(): AsyncGenerator<Envelope> {
  yield envelopeOf({ email: 'ana@example.com', externalId: 'user_ana' }, 2);
  yield envelopeOf({ email: 'ana@example.com', externalId: 'user_refused' }, 3);
  yield envelopeOf({ email: 'refused@example.com', externalId: 'user_ana' }, 4);
  for (let index = 0; index < FILLER_ROWS; index++) yield envelopeOf({ email: `filler${index}@example.com`, externalId: `user_filler${index}` }, index + 5);
  yield envelopeOf({ email: 'bo@example.com', externalId: 'user_refused' }, FILLER_ROWS + 5);
  yield envelopeOf({ email: 'refused@example.com', externalId: 'user_cy' }, FILLER_ROWS + 6);
}

test('a row refused for its email does not take its external id, and one refused for its external id does not take its email', async () => {
  const transform = await validator(['duplicates']);
  const refused: string[] = [];
  for await (const envelope of transform(rows())) {
    if (envelope.issues.length > 0) refused.push(`${envelope.origin.line} ${findings(envelope).join(', ')}`);
  }
  assert.deepEqual(refused, ['3 error email.duplicate', '4 error external_id.duplicate']);
});
