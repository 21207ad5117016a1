import { enrollAuthFactor, listAuthFactors } from './auth-factors.ts';
import type { Handler } from './handler.ts';
import { createMembership, deactivateMembership, deleteMembership, getMembership, listMemberships, reactivateMembership, updateMembership } from './memberships.ts';
import { createOrganization, deleteOrganization, getOrganization, getOrganizationByExternalId, listOrganizations, updateOrganization } from './organizations.ts';
import { createUser, deleteUser, getUser, getUserByExternalId, listUsers, updateUser } from './users.ts';

// The routing table. In a pattern, `:` takes one path segment and `*` the rest of the path: the SDK puts
// external ids into the path unencoded (workos-api.md §3), so `ext/1 x` arrives as two segments, while
// authpipe sends `ext%2F1%20x`; both decode to the same id.

interface Route {
  method: string;
  segments: readonly string[];
  handler: Handler;
}

const table: [method: string, pattern: string, handler: Handler][] = [
  ['POST', '/user_management/users', createUser],
  ['GET', '/user_management/users', listUsers],
  ['GET', '/user_management/users/external_id/*', getUserByExternalId],
  ['GET', '/user_management/users/:', getUser],
  ['PUT', '/user_management/users/:', updateUser],
  ['DELETE', '/user_management/users/:', deleteUser],
  ['POST', '/user_management/users/:/auth_factors', enrollAuthFactor],
  ['GET', '/user_management/users/:/auth_factors', listAuthFactors],
  ['POST', '/user_management/organization_memberships', createMembership],
  ['GET', '/user_management/organization_memberships', listMemberships],
  ['GET', '/user_management/organization_memberships/:', getMembership],
  ['PUT', '/user_management/organization_memberships/:', updateMembership],
  ['DELETE', '/user_management/organization_memberships/:', deleteMembership],
  ['PUT', '/user_management/organization_memberships/:/deactivate', deactivateMembership],
  ['PUT', '/user_management/organization_memberships/:/reactivate', reactivateMembership],
  ['POST', '/organizations', createOrganization],
  ['GET', '/organizations', listOrganizations],
  ['GET', '/organizations/external_id/*', getOrganizationByExternalId],
  ['GET', '/organizations/:', getOrganization],
  ['PUT', '/organizations/:', updateOrganization],
  ['DELETE', '/organizations/:', deleteOrganization],
];

const routes: Route[] = table.map(([method, pattern, handler]) => ({ method, segments: pattern.slice(1).split('/'), handler }));

export interface RouteMatch {
  handler: Handler;
  params: string[];
}

/** The route for a raw (still percent-encoded) path, or null; a malformed escape matches nothing. */
export function matchRoute(method: string, rawPath: string): RouteMatch | null {
  const parts = rawPath.slice(1).split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const params = matchSegments(route.segments, parts);
    if (params) return { handler: route.handler, params };
  }
  return null;
}

function matchSegments(segments: readonly string[], parts: readonly string[]): string[] | null {
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '*') {
      const rest = parts.slice(i).join('/');
      return rest === '' ? null : pushDecoded(params, rest);
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (segment === ':') {
      if (part === '' || !pushDecoded(params, part)) return null;
    } else if (segment !== part) {
      return null;
    }
  }
  return parts.length === segments.length ? params : null;
}

function pushDecoded(params: string[], text: string): string[] | null {
  try {
    params.push(decodeURIComponent(text));
    return params;
  } catch {
    return null;
  }
}
