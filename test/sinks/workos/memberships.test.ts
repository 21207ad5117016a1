import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emulatorFor } from '../../emulators/workos/harness.ts';
import { accepted, runSink, sdkFor, sinkContext, userEnvelope, userEnvelopes } from './harness.ts';

test('a user in several organizations gets every membership: one role as role_slug, several as role_slugs, none as the default', async (t) => {
  const emulator = await emulatorFor(t);
  const orgs = [
    { externalId: 'acme', name: 'Acme', roles: ['admin'] },
    { externalId: 'globex', name: 'Globex', roles: ['admin', 'billing'] },
    { externalId: 'initech', name: 'Initech', roles: [] },
  ];
  const result = await runSink(emulator, [userEnvelope(0, { orgs })], sinkContext());
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const bodies = accepted(emulator, 'POST', '/user_management/organization_memberships').map(({ body }) => {
    const roles = { ...(body as Record<string, unknown>) };
    delete roles.organization_id;
    delete roles.user_id;
    return roles;
  });
  assert.deepEqual(bodies, [{ role_slug: 'admin' }, { role_slugs: ['admin', 'billing'] }, {}]);
  const user = emulator.store.userByEmail('user0@example.com');
  const roles = emulator.store.membershipsOfUser(user?.id ?? '').map((membership) => membership.roles.map((role) => role.slug));
  assert.deepEqual(roles, [['admin'], ['admin', 'billing'], ['member']]);
});

test('rows written at the same time that need one new organization wait for a single lookup and a single create', async (t) => {
  const emulator = await emulatorFor(t, { faults: 'latency=5' });
  const rows = userEnvelopes(30, () => ({ orgs: [{ externalId: 'acme', name: 'Acme', roles: ['member'] }] }));
  const result = await runSink(emulator, rows, sinkContext(), { concurrency: 8 });
  assert.deepEqual(result, { written: 30, failed: 0, skipped: 0 });
  assert.equal(accepted(emulator, 'GET', '/organizations/external_id/').length, 1);
  assert.equal(accepted(emulator, 'POST', '/organizations').length, 1);
  const acme = emulator.store.organizationByExternalId('acme');
  assert.equal(emulator.store.membershipsOfOrganization(acme?.id ?? '').length, 30);
});

test('an organization known from an earlier run is taken from the ledger, and one given by id is used as it is', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const given = await sdkFor(emulator).organizations.createOrganization({ name: 'Given' });
  await runSink(emulator, [userEnvelope(0, { orgs: [{ externalId: 'acme', name: 'Acme', roles: [] }] })], run);
  const firstRun = emulator.requests.length;
  const orgs = [
    { externalId: 'acme', name: 'Acme', roles: [] },
    { id: given.id, roles: [] },
  ];
  const result = await runSink(emulator, [userEnvelope(1, { orgs })], run);
  assert.deepEqual(result, { written: 1, failed: 0, skipped: 0 });
  const secondRun = emulator.requests.slice(firstRun);
  assert.deepEqual(secondRun.filter((request) => request.path.startsWith('/organizations')), []);
  assert.equal(secondRun.filter((request) => request.path === '/user_management/organization_memberships').length, 2);
});

test('an organization WorkOS lacks and the row cannot name fails its membership, not the user', async (t) => {
  const emulator = await emulatorFor(t);
  const run = sinkContext();
  const result = await runSink(emulator, [userEnvelope(0, { orgs: [{ externalId: 'nameless', roles: [] }] })], run);
  assert.deepEqual(result, { written: 0, failed: 1, skipped: 0 });
  assert.equal(emulator.store.users.size, 1);
  assert.ok(run.lines.some((line) => line.includes('1 permanent organization_not_found')));
});
