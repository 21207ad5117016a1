import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWorkosEmulator } from '../../../emulators/workos/server.ts';
import type { Envelope } from '../../../pipelines/record.ts';
import { openLedger } from '../../../state/ledger.ts';
import { workosSink } from '../../../sinks/workos.ts';
import { API_KEY, sinkContext, userEnvelopes } from './harness.ts';

/** Rows, then the failure of whatever feeds the sink (a stage that stopped): the rows are still in flight then. */
async function* rowsThenFailure(rows: Envelope[]): AsyncGenerator<Envelope> {
  yield* rows;
  throw new Error('the index folder is full');
}

test('an input that fails with rows in flight lets them finish and be recorded before the failure goes on', async () => {
  const emulator = await startWorkosEmulator({ writes: null, reads: null, faults: 'latency=150' });
  const run = sinkContext();
  try {
    const writer = await workosSink.create(workosSink.options.parse({ apiKey: API_KEY, baseUrl: emulator.url, concurrency: 8 }), run.ctx);
    await assert.rejects(writer(rowsThenFailure(userEnvelopes(6))), /the index folder is full/);
    const ledger = openLedger(run.ledgerPath);
    try {
      assert.deepEqual(ledger.status().byState, { ...ledger.status().byState, done: 6, in_flight: 0 });
    } finally {
      ledger.close();
    }
    assert.equal(emulator.store.userByEmail('user5@example.com')?.external_id, 'ext-5');
  } finally {
    await emulator.close();
  }
});
