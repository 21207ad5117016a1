import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DomainDataState } from '@workos-inc/node';
import { startWithSdk } from './harness.ts';

const { emulator, workos } = await startWithSdk();
after(() => emulator.close());
const organizations = workos.organizations;

test('creates an organization with domains, external id and metadata in the SDK shape', async () => {
  const created = await organizations.createOrganization({
    name: 'Acme',
    externalId: 'crm/acme',
    metadata: { tier: 'gold' },
    domainData: [
      { domain: 'acme.com', state: DomainDataState.Verified },
      { domain: 'acme.io', state: DomainDataState.Pending },
    ],
  });
  assert.match(created.id, /^org_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(created.name, 'Acme');
  assert.equal(created.externalId, 'crm/acme');
  assert.deepEqual(created.metadata, { tier: 'gold' });
  assert.equal(created.allowProfilesOutsideOrganization, false);
  assert.deepEqual(
    created.domains.map(({ domain, state, verificationStrategy, organizationId }) => ({ domain, state, verificationStrategy, organizationId })),
    [
      { domain: 'acme.com', state: 'verified', verificationStrategy: 'manual', organizationId: created.id },
      { domain: 'acme.io', state: 'pending', verificationStrategy: 'dns', organizationId: created.id },
    ],
  );
  assert.match(created.domains[0]?.id ?? '', /^org_domain_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal((await organizations.getOrganization(created.id)).name, 'Acme');
  assert.equal((await organizations.getOrganizationByExternalId(encodeURIComponent('crm/acme'))).id, created.id);
});

test('lists organizations holding any of the given domains', async () => {
  const globex = await organizations.createOrganization({ name: 'Globex', domainData: [{ domain: 'globex.com', state: DomainDataState.Verified }] });
  const initech = await organizations.createOrganization({ name: 'Initech', domainData: [{ domain: 'initech.com', state: DomainDataState.Verified }] });
  const listed = await organizations.listOrganizations({ domains: ['initech.com', 'GLOBEX.com', 'nobody.com'] });
  assert.deepEqual(listed.data.map((organization) => organization.id), [initech.id, globex.id]);
  assert.equal(emulator.requests.at(-1)?.query.domains, 'initech.com,GLOBEX.com,nobody.com');
  assert.deepEqual((await organizations.listOrganizations({ domains: ['nobody.com'] })).data, []);
});

test('answers 409 when a domain belongs to another organization', async () => {
  await organizations.createOrganization({ name: 'Owner', domainData: [{ domain: 'taken.com', state: DomainDataState.Verified }] });
  await assert.rejects(organizations.createOrganization({ name: 'Squatter', domainData: [{ domain: 'Taken.com', state: DomainDataState.Pending }] }), {
    name: 'ConflictException',
    status: 409,
    message: 'The domain Taken.com is already in use by another organization.',
  });
});

test('refuses a second organization with the same external id', async () => {
  await organizations.createOrganization({ name: 'First', externalId: 'org-dup' });
  await assert.rejects(organizations.createOrganization({ name: 'Second', externalId: 'org-dup' }), {
    name: 'GenericServerException',
    status: 400,
    rawData: { message: 'This external ID is already in use.', code: 'external_id_already_used' },
  });
});

test('updates name, domains, external id and metadata, then deletes', async () => {
  const created = await organizations.createOrganization({ name: 'Old', externalId: 'old-ext', metadata: { a: '1' }, domainData: [{ domain: 'old.com', state: DomainDataState.Verified }] });
  const updated = await organizations.updateOrganization({
    organization: created.id,
    name: 'New',
    externalId: 'new-ext',
    metadata: { a: null, b: '2' } as unknown as Record<string, string>,
    domainData: [{ domain: 'new.com', state: DomainDataState.Verified }],
  });
  assert.equal(updated.name, 'New');
  assert.deepEqual(updated.metadata, { b: '2' });
  assert.deepEqual(updated.domains.map((domain) => domain.domain), ['new.com']);
  assert.equal(emulator.store.organizationByDomain('old.com'), undefined);
  assert.equal(emulator.store.organizationByExternalId('old-ext'), undefined);
  assert.equal((await organizations.getOrganizationByExternalId('new-ext')).id, created.id);
  await organizations.deleteOrganization(created.id);
  await assert.rejects(organizations.getOrganization(created.id), { name: 'NotFoundException', code: 'entity_not_found' });
});

test('replays the organization of an earlier create with the same Idempotency-Key', async () => {
  const first = await organizations.createOrganization({ name: 'Once' }, { idempotencyKey: 'idem-1' });
  const again = await organizations.createOrganization({ name: 'Once' }, { idempotencyKey: 'idem-1' });
  assert.equal(again.id, first.id);
  assert.equal([...emulator.store.organizations.values()].filter((organization) => organization.name === 'Once').length, 1);
});
