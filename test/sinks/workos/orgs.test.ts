import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../pipelines/log.ts';
import { WorkosApi } from '../../../sinks/workos/api.ts';
import { CallFailed } from '../../../sinks/workos/classify.ts';
import { OrgResolver } from '../../../sinks/workos/orgs.ts';
import { openLedger } from '../../../state/ledger.ts';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { tempDir } from '../../sources/context.ts';
import { sdkFor } from './harness.ts';

test('an organization lookup that failed for a moment is asked again by the next row; a permanent failure is not', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x1' });
  const ledger = openLedger(path.join(tempDir(), 'ledger.db'));
  t.after(() => ledger.close());
  const api = new WorkosApi({ sdk: sdkFor(emulator), writes: null, reads: null, retries: 0, log: createLogger({ quiet: true }), signal: new AbortController().signal });
  const orgs = new OrgResolver(api, ledger);
  const acme = { externalId: 'acme', name: 'Acme', roles: [] };
  await assert.rejects(orgs.resolve(acme, 'ext:acme'), (error: unknown) => error instanceof CallFailed && error.failure.errorClass === 'retryable');
  const id = await orgs.resolve(acme, 'ext:acme');
  assert.equal(emulator.store.organizationByExternalId('acme')?.id, id);

  const nameless = { externalId: 'ghost', roles: [] };
  const notFound = (error: unknown) => error instanceof CallFailed && error.failure.code === 'organization_not_found';
  await assert.rejects(orgs.resolve(nameless, 'ext:ghost'), notFound);
  const lookups = emulator.requests.length;
  await assert.rejects(orgs.resolve(nameless, 'ext:ghost'), notFound);
  assert.equal(emulator.requests.length, lookups);
});
