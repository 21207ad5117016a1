import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { AuthpipeError } from '../../../pipelines/errors.ts';
import { runSink, sinkContext, userEnvelopes } from './harness.ts';

const LIVE_KEY = 'sk_live_a1b2c3d4e5f6';

test('a sk_live_ key is refused before any call unless live is set, and the refusal does not show the key', async (t) => {
  const emulator = await emulatorFor(t);
  await assert.rejects(runSink(emulator, userEnvelopes(1), sinkContext(), { apiKey: LIVE_KEY }), (error: unknown) => {
    assert.ok(error instanceof AuthpipeError);
    assert.equal(error.code, 'workos.live_key_refused');
    assert.ok(!error.message.includes(LIVE_KEY));
    return true;
  });
  assert.equal(emulator.requests.length, 0);
});

test('a sk_live_ key writes with live: true or with --live, and never appears in the log', async (t) => {
  const emulator = await emulatorFor(t);
  const byOption = sinkContext();
  assert.deepEqual(await runSink(emulator, userEnvelopes(1), byOption, { apiKey: LIVE_KEY, live: true }), { written: 1, failed: 0, skipped: 0 });
  const byFlag = sinkContext({ live: true, env: { WORKOS_API_KEY: LIVE_KEY } });
  assert.deepEqual(await runSink(emulator, userEnvelopes(2), byFlag, { apiKey: undefined }), { written: 2, failed: 0, skipped: 0 });
  assert.ok([...byOption.lines, ...byFlag.lines].every((line) => !line.includes(LIVE_KEY)));
});

test('without any key the run stops before its first call and says where the key goes', async () => {
  await assert.rejects(runSink(null, userEnvelopes(1), sinkContext(), { apiKey: undefined }), { code: 'workos.missing_key', message: /WORKOS_API_KEY/ });
});
