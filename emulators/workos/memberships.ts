import { ApiError, badRequest, invalidParameters, notFound } from './errors.ts';
import { listBody, timestamp, type Handler, type HandlerContext } from './handler.ts';
import { paginate, type EmulatorStore, type MembershipStatus, type OrganizationMembership } from './store.ts';
import { commaList, listQueryOf, optionalString, requiredString, type JsonObject } from './validation.ts';

// /user_management/organization_memberships (workos-api.md §3, §6): a user holds at most one membership
// per organization. Creating it again reactivates an inactive one and is refused (409, as WorkOS's own
// emulator answers) for an active one.

const DEFAULT_ROLE = 'member';
const ROLE_SLUG = /^[a-z0-9][a-z0-9_-]*$/i;
const STATUSES: readonly MembershipStatus[] = ['active', 'inactive', 'pending'];

/** The membership as answered: with the organization's name and the user as they are now. */
function render(store: EmulatorStore, membership: OrganizationMembership) {
  return {
    ...membership,
    organization_name: store.organizations.get(membership.organization_id)?.name ?? '',
    user: store.users.get(membership.user_id),
  };
}

/** Roles from `role_slug` or `role_slugs`; undefined when the body names none. */
function rolesOf(context: HandlerContext, body: JsonObject): { slug: string }[] | undefined {
  const roleSlug = optionalString(body, 'role_slug');
  const roleSlugs = body.role_slugs;
  if (roleSlug !== undefined && roleSlugs !== undefined) {
    throw invalidParameters('role_slugs', 'role_slug_and_role_slugs_provided', 'Provide role_slug or role_slugs, not both.');
  }
  if (roleSlugs !== undefined && (!Array.isArray(roleSlugs) || roleSlugs.length === 0 || !roleSlugs.every((slug) => typeof slug === 'string'))) {
    throw invalidParameters('role_slugs', 'role_slugs_must_be_strings', 'role_slugs must be a non-empty array of strings.');
  }
  const slugs = roleSlug !== undefined ? [roleSlug] : (roleSlugs as string[] | undefined);
  if (slugs === undefined) return undefined;
  const unique = [...new Set(slugs)];
  if (unique.length > 1 && !context.multipleRoles) {
    throw new ApiError(422, { message: 'Multiple roles are not enabled for this environment.', code: 'multiple_roles_not_enabled' });
  }
  for (const slug of unique) {
    if (!ROLE_SLUG.test(slug)) throw new ApiError(422, { message: `Role '${slug}' does not exist.`, code: 'invalid_role' });
  }
  return unique.map((slug) => ({ slug }));
}

function membershipOr404(store: EmulatorStore, id: string): OrganizationMembership {
  const membership = store.memberships.get(id);
  if (!membership) throw notFound('Organization membership', id);
  return membership;
}

function assignRoles(membership: OrganizationMembership, roles: { slug: string }[]): void {
  membership.roles = roles;
  membership.role = roles[0] as { slug: string };
}

export const createMembership: Handler = (context, { body }) => {
  const { store } = context;
  const userId = requiredString(body, 'user_id');
  const organizationId = requiredString(body, 'organization_id');
  const roles = rolesOf(context, body);
  if (!store.users.get(userId)) throw notFound('User', userId);
  if (!store.organizations.get(organizationId)) throw notFound('Organization', organizationId);
  const now = timestamp();
  const existing = store.membershipOf(userId, organizationId);
  if (existing) {
    if (existing.status !== 'inactive') throw new ApiError(409, { message: 'Membership already exists', code: 'conflict' });
    existing.status = 'active';
    if (roles) assignRoles(existing, roles);
    existing.updated_at = now;
    return { status: 201, body: render(store, existing) };
  }
  const assigned = roles ?? [{ slug: DEFAULT_ROLE }];
  const membership: OrganizationMembership = {
    object: 'organization_membership',
    id: store.newId('om'),
    user_id: userId,
    organization_id: organizationId,
    status: 'active',
    role: assigned[0] as { slug: string },
    roles: assigned,
    directory_managed: false,
    custom_attributes: {},
    created_at: now,
    updated_at: now,
  };
  store.insertMembership(membership);
  return { status: 201, body: render(store, membership) };
};

export const getMembership: Handler = ({ store }, { params: [id = ''] }) => ({ status: 200, body: render(store, membershipOr404(store, id)) });

/** By `user_id` and/or `organization_id` (one is required) and `statuses` (default active). */
export const listMemberships: Handler = ({ store }, { query }) => {
  const userId = query.get('user_id');
  const organizationId = query.get('organization_id');
  if (!userId && !organizationId) throw badRequest('missing_user_id_or_organization_id', 'Provide user_id or organization_id.');
  const page = listQueryOf(query);
  const statuses = commaList(query, 'statuses') ?? ['active'];
  for (const status of statuses) {
    if (!(STATUSES as readonly string[]).includes(status)) throw invalidParameters('statuses', 'status_invalid', 'statuses must be active, inactive or pending.');
  }
  let candidates: readonly OrganizationMembership[];
  if (userId && organizationId) {
    const membership = store.membershipOf(userId, organizationId);
    candidates = membership ? [membership] : [];
  } else {
    candidates = userId ? store.membershipsOfUser(userId) : store.membershipsOfOrganization(organizationId as string);
  }
  const matching = candidates.filter((membership) => statuses.includes(membership.status));
  return { status: 200, body: listBody(paginate(matching, page), (membership) => render(store, membership)) };
};

export const updateMembership: Handler = (context, { params: [id = ''], body }) => {
  const membership = membershipOr404(context.store, id);
  const roles = rolesOf(context, body);
  if (roles) assignRoles(membership, roles);
  membership.updated_at = timestamp();
  return { status: 200, body: render(context.store, membership) };
};

function setStatus(status: MembershipStatus): Handler {
  return ({ store }, { params: [id = ''] }) => {
    const membership = membershipOr404(store, id);
    if (membership.status !== status) {
      membership.status = status;
      membership.updated_at = timestamp();
    }
    return { status: 200, body: render(store, membership) };
  };
}

export const deactivateMembership = setStatus('inactive');
export const reactivateMembership = setStatus('active');

export const deleteMembership: Handler = ({ store }, { params: [id = ''] }) => {
  if (!store.deleteMembership(id)) throw notFound('Organization membership', id);
  return { status: 204 };
};
