import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { API_KEY, startWithSdk } from './harness.ts';

const { emulator, workos } = await startWithSdk();
const { emulator: singleRoleEmulator, workos: singleRole } = await startWithSdk({ multipleRoles: false });
after(() => Promise.all([emulator.close(), singleRoleEmulator.close()]));
const users = workos.userManagement;

let serial = 0;
async function userAndOrganization(client = workos): Promise<{ userId: string; organizationId: string }> {
  serial++;
  const user = await client.userManagement.createUser({ email: `member${serial}@example.com` });
  const organization = await client.organizations.createOrganization({ name: `Org ${serial}` });
  return { userId: user.id, organizationId: organization.id };
}

async function rawMembership(id: string): Promise<{ user: { email: string } }> {
  const response = await fetch(`${emulator.url}/user_management/organization_memberships/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  return (await response.json()) as { user: { email: string } };
}

test('creates a membership with the default member role, the user and the organization name', async () => {
  const { userId, organizationId } = await userAndOrganization();
  const membership = await users.createOrganizationMembership({ userId, organizationId });
  assert.match(membership.id, /^om_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(membership.status, 'active');
  assert.deepEqual(membership.role, { slug: 'member' });
  assert.deepEqual(membership.roles, [{ slug: 'member' }]);
  assert.equal(membership.organizationName, `Org ${serial}`);
  assert.equal(membership.directoryManaged, false);
  assert.deepEqual(membership.customAttributes, {});
  assert.equal((await rawMembership(membership.id)).user.email, `member${serial}@example.com`);
});

test('creates a membership with one role slug or several', async () => {
  const single = await userAndOrganization();
  assert.deepEqual((await users.createOrganizationMembership({ ...single, roleSlug: 'admin' })).roles, [{ slug: 'admin' }]);
  const multiple = await userAndOrganization();
  const membership = await users.createOrganizationMembership({ ...multiple, roleSlugs: ['billing', 'admin'] });
  assert.deepEqual(membership.role, { slug: 'billing' });
  assert.deepEqual(membership.roles, [{ slug: 'billing' }, { slug: 'admin' }]);
  const updated = await users.updateOrganizationMembership(membership.id, { roleSlug: 'viewer' });
  assert.deepEqual(updated.roles, [{ slug: 'viewer' }]);
});

test('answers 422 multiple_roles_not_enabled for several roles when the environment allows one', async () => {
  const pair = await userAndOrganization(singleRole);
  await assert.rejects(singleRole.userManagement.createOrganizationMembership({ ...pair, roleSlugs: ['admin', 'member'] }), {
    name: 'UnprocessableEntityException',
    status: 422,
    code: 'multiple_roles_not_enabled',
    message: 'Multiple roles are not enabled for this environment.',
  });
  assert.deepEqual((await singleRole.userManagement.createOrganizationMembership({ ...pair, roleSlugs: ['admin'] })).roles, [{ slug: 'admin' }]);
});

test('answers 409 conflict for a second membership while the first is active', async () => {
  const pair = await userAndOrganization();
  await users.createOrganizationMembership(pair);
  await assert.rejects(users.createOrganizationMembership(pair), { name: 'ConflictException', status: 409, message: 'Membership already exists' });
  const refused = emulator.requests.at(-1);
  assert.equal(refused?.status, 409);
  assert.deepEqual(refused?.body, { organization_id: pair.organizationId, user_id: pair.userId });
});

test('reactivates an inactive membership instead of creating another', async () => {
  const pair = await userAndOrganization();
  const first = await users.createOrganizationMembership({ ...pair, roleSlug: 'admin' });
  assert.equal((await users.deactivateOrganizationMembership(first.id)).status, 'inactive');
  const again = await users.createOrganizationMembership({ ...pair, roleSlug: 'owner' });
  assert.equal(again.id, first.id);
  assert.equal(again.status, 'active');
  assert.deepEqual(again.roles, [{ slug: 'owner' }]);
  assert.equal(emulator.store.membershipsOfUser(pair.userId).length, 1);
});

test('lists memberships by user, by organization and by status', async () => {
  const { userId, organizationId } = await userAndOrganization();
  const second = await workos.organizations.createOrganization({ name: 'Second home' });
  const active = await users.createOrganizationMembership({ userId, organizationId });
  const inactive = await users.createOrganizationMembership({ userId, organizationId: second.id });
  await users.deactivateOrganizationMembership(inactive.id);
  assert.deepEqual((await users.listOrganizationMemberships({ userId })).data.map((membership) => membership.id), [active.id]);
  const both = await users.listOrganizationMemberships({ userId, statuses: ['active', 'inactive'] });
  assert.deepEqual(both.data.map((membership) => membership.id), [inactive.id, active.id]);
  assert.equal(emulator.requests.at(-1)?.query.statuses, 'active,inactive');
  assert.deepEqual((await users.listOrganizationMemberships({ organizationId: second.id, statuses: ['inactive'] })).data.map((membership) => membership.id), [inactive.id]);
  assert.deepEqual((await users.listOrganizationMemberships({ userId, organizationId })).data.map((membership) => membership.id), [active.id]);
  assert.deepEqual((await users.listUsers({ organizationId })).data.map((user) => user.id), [userId]);
});

test('answers 400 missing_user_id_or_organization_id for a list without either', async () => {
  await assert.rejects(users.listOrganizationMemberships({} as { userId: string }), {
    name: 'GenericServerException',
    status: 400,
    rawData: { message: 'Provide user_id or organization_id.', code: 'missing_user_id_or_organization_id' },
  });
});

test('answers 404 for a membership of an unknown user or organization', async () => {
  const { userId, organizationId } = await userAndOrganization();
  await assert.rejects(users.createOrganizationMembership({ userId: 'user_01HZX3KQ4T8M2V6N0P5R7S9W1Y', organizationId }), { name: 'NotFoundException', code: 'entity_not_found' });
  await assert.rejects(users.createOrganizationMembership({ userId, organizationId: 'org_01HZX3KQ4T8M2V6N0P5R7S9W1Y' }), { name: 'NotFoundException', code: 'entity_not_found' });
});

test('removes the memberships of a deleted user', async () => {
  const pair = await userAndOrganization();
  const membership = await users.createOrganizationMembership(pair);
  await users.deleteUser(pair.userId);
  await assert.rejects(users.getOrganizationMembership(membership.id), { name: 'NotFoundException', status: 404 });
  assert.deepEqual((await users.listOrganizationMemberships({ organizationId: pair.organizationId })).data, []);
});
