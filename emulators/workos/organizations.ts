import { ApiError, badRequest, invalidParameters, notFound } from './errors.ts';
import { byCreation, listBody, timestamp, type Handler } from './handler.ts';
import { paginate, type DomainState, type EmulatorStore, type Organization, type OrganizationChanges, type OrganizationDomain } from './store.ts';
import { commaList, externalIdOf, listQueryOf, metadataOf, nullableString, optionalString, requiredString, type JsonObject } from './validation.ts';

// /organizations: create (honouring Idempotency-Key, the one create the SDK sends it for), get, get by
// external id, list filtered by domains, update, delete (workos-api.md §3).

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

function domainTaken(domain: string): ApiError {
  return new ApiError(409, { message: `The domain ${domain} is already in use by another organization.`, code: 'domain_already_in_use' });
}

/** `domain_data` as domain objects, or undefined when absent; each domain free or already this organization's. */
function domainsOf(store: EmulatorStore, body: JsonObject, organizationId: string, now: string): OrganizationDomain[] | undefined {
  const domainData = body.domain_data;
  if (domainData === undefined) return undefined;
  if (!Array.isArray(domainData)) throw invalidParameters('domain_data', 'domain_data_must_be_array', 'domain_data must be an array of {domain, state}.');
  const seen = new Set<string>();
  return domainData.map((entry: unknown): OrganizationDomain => {
    const { domain, state } = (entry ?? {}) as { domain?: unknown; state?: unknown };
    if (typeof domain !== 'string' || !DOMAIN.test(domain)) throw invalidParameters('domain_data', 'domain_invalid', 'Each domain_data entry needs a valid domain.');
    if (state !== 'pending' && state !== 'verified') throw invalidParameters('domain_data', 'domain_state_invalid', 'Each domain_data state must be pending or verified.');
    const key = domain.toLowerCase();
    if (seen.has(key)) throw invalidParameters('domain_data', 'domain_duplicated', `The domain ${domain} is listed twice.`);
    seen.add(key);
    const holder = store.organizationByDomain(domain);
    if (holder && holder.id !== organizationId) throw domainTaken(domain);
    return domainObject(store, organizationId, domain, state, now);
  });
}

function domainObject(store: EmulatorStore, organizationId: string, domain: string, state: DomainState, now: string): OrganizationDomain {
  return {
    object: 'organization_domain',
    id: store.newId('org_domain'),
    organization_id: organizationId,
    domain,
    state,
    verification_strategy: state === 'verified' ? 'manual' : 'dns',
    verification_token: null,
    verification_prefix: null,
    created_at: now,
    updated_at: now,
  };
}

function organizationOr404(store: EmulatorStore, id: string): Organization {
  const organization = store.organizations.get(id);
  if (!organization) throw notFound('Organization', id);
  return organization;
}

export const createOrganization: Handler = ({ store }, { body, idempotencyKey }) => {
  const earlier = idempotencyKey === null ? undefined : store.organizationByIdempotencyKey(idempotencyKey);
  if (earlier) return { status: 201, body: earlier };
  const name = requiredString(body, 'name');
  const externalId = externalIdOf(body);
  const metadata = metadataOf(body, {});
  if (externalId && store.organizationByExternalId(externalId)) throw badRequest('external_id_already_used', 'This external ID is already in use.');
  const id = store.newId('org');
  const now = timestamp();
  const organization: Organization = {
    object: 'organization',
    id,
    name,
    domains: domainsOf(store, body, id, now) ?? [],
    metadata,
    external_id: externalId ?? null,
    stripe_customer_id: null,
    allow_profiles_outside_organization: false,
    created_at: now,
    updated_at: now,
  };
  store.insertOrganization(organization, idempotencyKey);
  return { status: 201, body: organization };
};

export const getOrganization: Handler = ({ store }, { params: [id = ''] }) => ({ status: 200, body: organizationOr404(store, id) });

export const getOrganizationByExternalId: Handler = ({ store }, { params: [externalId = ''] }) => {
  const organization = store.organizationByExternalId(externalId);
  if (!organization) throw notFound('Organization with external_id', externalId);
  return { status: 200, body: organization };
};

/** `domains` (comma-joined) selects organizations holding any of them, through the domain index. */
export const listOrganizations: Handler = ({ store }, { query }) => {
  const page = listQueryOf(query);
  const domains = commaList(query, 'domains');
  if (!domains) return { status: 200, body: listBody(store.organizations.page(page), (organization) => organization) };
  const matches = new Set<Organization>();
  for (const domain of domains) {
    const organization = store.organizationByDomain(domain);
    if (organization) matches.add(organization);
  }
  return { status: 200, body: listBody(paginate([...matches].sort(byCreation), page), (organization) => organization) };
};

export const updateOrganization: Handler = ({ store }, { params: [id = ''], body }) => {
  const organization = organizationOr404(store, id);
  const now = timestamp();
  const changes: OrganizationChanges = { updated_at: now };
  const name = optionalString(body, 'name');
  if (name !== undefined) changes.name = name;
  const stripeCustomerId = nullableString(body, 'stripe_customer_id');
  if (stripeCustomerId !== undefined) changes.stripe_customer_id = stripeCustomerId;
  const externalId = externalIdOf(body);
  if (externalId !== undefined && externalId !== organization.external_id) {
    if (externalId !== null && store.organizationByExternalId(externalId)) throw badRequest('external_id_already_used', 'This external ID is already in use.');
    changes.external_id = externalId;
  }
  changes.metadata = metadataOf(body, organization.metadata);
  const domains = domainsOf(store, body, id, now);
  if (domains) changes.domains = domains;
  store.updateOrganization(organization, changes);
  return { status: 200, body: organization };
};

export const deleteOrganization: Handler = ({ store }, { params: [id = ''] }) => {
  if (!store.deleteOrganization(id)) throw notFound('Organization', id);
  return { status: 204 };
};
