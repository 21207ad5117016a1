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
import { runSink, sdkFor, sinkContext, userEnvelope } from './harness.ts';

test('an organization lookup that failed for a moment is asked again by the next row; a permanent failure is not', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'status=503x1' });
  const ledger = openLedger(path.join(tempDir(), 'ledger.db'));
  t.after(() => ledger.close());
  const api = new WorkosApi({ sdk: sdkFor(emulator), writes: null, reads: null, retries: 0, maxOutageMs: 60_000, log: createLogger({ quiet: true }), signal: new AbortController().signal });
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

test('an organization deleted in WorkOS after the ledger cached it is made again for the next memberships, which then land', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const acme = { externalId: 'acme', name: 'Acme', roles: ['member'] };
  await runSink(emulator, [userEnvelope(0, { orgs: [acme] })], run);
  const deleted = emulator.store.organizationByExternalId('acme');
  emulator.store.deleteOrganization(deleted?.id ?? '');

  const rows = Array.from({ length: 6 }, (_, seq) => userEnvelope(seq + 1, { orgs: [acme] }));
  assert.deepEqual(await runSink(emulator, rows, run, { concurrency: 4 }), { written: 6, failed: 0, skipped: 0 });
  const remade = emulator.store.organizationByExternalId('acme');
  assert.notEqual(remade?.id, deleted?.id);
  assert.equal(emulator.store.organizations.size, 1);
  for (const seq of [1, 2, 3, 4, 5, 6]) {
    const user = emulator.store.userByEmail(`user${seq}@example.com`);
    assert.deepEqual(emulator.store.membershipsOfUser(user?.id ?? '').map((membership) => membership.organization_id), [remade?.id]);
  }
});
