// A user's organization memberships: created once each (409 means it is there already), roles brought in
// line when the source changes them. Each is tracked in the ledger, so a resume never sends a done one again.
import type { OrganizationMembership } from '@workos-inc/node';
import type { OrgRef } from '../../pipelines/record.ts';
import type { Ledger } from '../../state/ledger.ts';
import type { WorkosApi } from './api.ts';
import { CallFailed, isNotFound, type Failure } from './classify.ts';
import { orgKeyOf, type OrgResolver } from './orgs.ts';

/** The role WorkOS gives a membership created without one (workos-api.md §3; an environment may name another). */
const DEFAULT_ROLE = 'member';

export const sameRoles = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** One role goes as role_slug, several as role_slugs; none lets WorkOS give its default role. */
function roleOptions(roles: string[]): { roleSlug?: string; roleSlugs?: string[] } {
  if (roles.length === 0) return {};
  return roles.length === 1 ? { roleSlug: roles[0] } : { roleSlugs: roles };
}

function explained(failure: Failure, org: OrgRef): Failure {
  const name = JSON.stringify(org.externalId ?? org.id);
  if (failure.code === 'multiple_roles_not_enabled') {
    return {
      ...failure,
      message: `membership in ${name} needs several roles, but multiple roles are not enabled in this WorkOS environment: enable them (Dashboard > Roles) or map the user to one role`,
    };
  }
  return { ...failure, message: `membership in ${name}: ${failure.message}` };
}

/** What a membership says of its roles: `roles` when the server lists several (the SDK has it optional), `role` always. */
export type HeldRoles = Pick<OrganizationMembership, 'roles' | 'role'>;

export const rolesOf = (membership: HeldRoles) => membership.roles?.map((role) => role.slug) ?? [membership.role.slug];

/**
 * Whether a membership holds the roles asked for (none: WorkOS's default). One without `roles` names one role only:
 * one of those asked for is all it can say. The writer and the diff judge alike, or the diff would flag forever what
 * the writer took.
 */
export function holdsRoles(membership: HeldRoles, roles: readonly string[]): boolean {
  if (roles.length === 0 || sameRoles(rolesOf(membership), roles)) return true;
  return membership.roles === undefined && roles.includes(membership.role.slug);
}

/**
 * The membership of an answer, once it holds the roles asked for: a server that takes one role only and ignores
 * role_slugs would otherwise have the row recorded as done, and every diff and replay after send the roles again.
 */
function withRoles(membership: OrganizationMembership, roles: string[]): OrganizationMembership {
  if (holdsRoles(membership, roles)) return membership;
  throw new CallFailed({
    errorClass: 'permanent',
    code: 'roles_not_applied',
    message: `WorkOS answered with roles ${rolesOf(membership).join(', ')}, not ${roles.join(', ')}: the server may take one role per membership only`,
    status: null,
  });
}

async function setRoles(api: WorkosApi, membershipId: string, roles: string[]): Promise<void> {
  if (roles.length === 0) return;
  withRoles(await api.idempotent('write', () => api.sdk.userManagement.updateOrganizationMembership(membershipId, roleOptions(roles))), roles);
}

/**
 * WorkOS's official emulator answers an existing membership 409 (workos-api.md §6; WorkOS itself documents nothing);
 * other servers say it with a 400 or 422 whose code says "already exists".
 */
function isExistingMembership(failure: Failure): boolean {
  return failure.status === 409 || ((failure.status === 400 || failure.status === 422) && /already_exists|already_a_member|membership_exists/.test(failure.code));
}

async function createMembership(api: WorkosApi, userId: string, organizationId: string, roles: string[]): Promise<string> {
  const { userManagement } = api.sdk;
  try {
    return withRoles(await api.idempotent('write', () => userManagement.createOrganizationMembership({ userId, organizationId, ...roleOptions(roles) })), roles).id;
  } catch (error) {
    if (!(error instanceof CallFailed && isExistingMembership(error.failure))) throw error;
  }
  // Already a member: from an earlier attempt whose answer was lost, or from before the migration.
  const listed = await api.idempotent('read', () => userManagement.listOrganizationMemberships({ userId, organizationId, statuses: ['active', 'pending'] }));
  // Matched again here: a server that ignores a filter answers with other memberships first.
  const existing = listed.data.find((membership) => membership.userId === userId && membership.organizationId === organizationId);
  if (existing === undefined) {
    throw new CallFailed({ errorClass: 'retryable', code: 'conflict', message: 'WorkOS reports the membership exists but does not list it', status: 409 });
  }
  if (!holdsRoles(existing, roles)) await setRoles(api, existing.id, roles);
  return existing.id;
}

/** A row's WorkOS user; `replaced`: another than the one the ledger recorded (deleted since), whose memberships are not its. */
export interface MemberUser {
  userKey: string;
  userId: string;
  replaced: boolean;
}

/**
 * Brings every membership of the row's user in line with its org refs. Each one is attempted and recorded;
 * the first failure (or null) is returned for the row. Memberships no longer in the source are left alone.
 */
export async function writeMemberships(api: WorkosApi, ledger: Ledger, orgs: OrgResolver, { userKey, userId, replaced }: MemberUser, refs: readonly OrgRef[]): Promise<Failure | null> {
  let firstFailure: Failure | null = null;
  for (const org of refs) {
    const orgKey = orgKeyOf(org);
    if (orgKey === null) {
      firstFailure ??= { errorClass: 'permanent', code: 'organization_reference_missing', message: 'an organization reference has neither an id nor an external id', status: null };
      continue;
    }
    const roles = [...new Set(org.roles)];
    const known = replaced ? undefined : ledger.membership(userKey, orgKey);
    if (known?.state === 'done' && sameRoles(known.roles, roles)) continue;
    try {
      const organizationId = await orgs.resolve(org, orgKey);
      let membershipId: string;
      if (known?.state === 'done' && known.workosMembershipId !== null) {
        // Every role taken away in the source: WorkOS has no membership without a role, so it gets the default one.
        await setRoles(api, known.workosMembershipId, roles.length === 0 ? [DEFAULT_ROLE] : roles);
        membershipId = known.workosMembershipId;
      } else {
        membershipId = await createMembership(api, userId, organizationId, roles).catch(async (error: unknown) => {
          if (!isNotFound(error)) throw error;
          // The org the ledger cached may have been deleted in WorkOS since: resolved again (the same id, when it was
          // the user that is gone), and the membership tried once more.
          orgs.forget(orgKey, organizationId);
          return createMembership(api, userId, await orgs.resolve(org, orgKey), roles);
        });
      }
      ledger.membershipDone(userKey, orgKey, roles, membershipId);
    } catch (error) {
      if (!(error instanceof CallFailed)) throw error;
      const failure = explained(error.failure, org);
      ledger.membershipFailed(userKey, orgKey, roles, failure);
      firstFailure ??= failure;
    }
  }
  return firstFailure;
}
