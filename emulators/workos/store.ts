import { createIdFactory, type IdFactory } from './ids.ts';

// The emulator's state, in WorkOS wire shapes (workos-api.md §4) so answers serialise without copying.
// Every lookup a write needs (id, lower-cased email, external id, domain, user+organization pair) is a
// Map, so creating a user costs the same with ten rows as with a million. Records are live objects:
// handlers change plain fields in place, but indexed fields (email, external_id, domains) change only
// through the update methods here.

export type Metadata = Record<string, string>;

export interface User {
  object: 'user';
  id: string;
  email: string;
  email_verified: boolean;
  first_name: string | null;
  last_name: string | null;
  profile_picture_url: string | null;
  last_sign_in_at: string | null;
  locale: string | null;
  external_id: string | null;
  metadata: Metadata;
  created_at: string;
  updated_at: string;
}

export type DomainState = 'pending' | 'verified';

export interface OrganizationDomain {
  object: 'organization_domain';
  id: string;
  organization_id: string;
  domain: string;
  state: DomainState;
  verification_strategy: 'dns' | 'manual';
  verification_token: string | null;
  verification_prefix: string | null;
  created_at: string;
  updated_at: string;
}

export interface Organization {
  object: 'organization';
  id: string;
  name: string;
  domains: OrganizationDomain[];
  metadata: Metadata;
  external_id: string | null;
  stripe_customer_id: string | null;
  allow_profiles_outside_organization: boolean;
  created_at: string;
  updated_at: string;
}

export type MembershipStatus = 'active' | 'inactive' | 'pending';

/** As stored; answers add `organization_name` and `user` as they are at answer time. */
export interface OrganizationMembership {
  object: 'organization_membership';
  id: string;
  user_id: string;
  organization_id: string;
  status: MembershipStatus;
  role: { slug: string };
  roles: { slug: string }[];
  directory_managed: boolean;
  custom_attributes: Record<string, string>;
  created_at: string;
  updated_at: string;
}

export interface AuthenticationFactor {
  object: 'authentication_factor';
  id: string;
  type: 'totp';
  user_id: string;
  totp: { issuer: string; user: string; secret: string; qr_code: string; uri: string };
  created_at: string;
  updated_at: string;
}

export interface ListQuery {
  limit: number;
  order: 'asc' | 'desc';
  before: string | null;
  after: string | null;
}

export interface ListPage<T> {
  data: T[];
  before: string | null;
  after: string | null;
}

function liveRowExists<T>(rows: readonly (T | undefined)[], from: number, step: number): boolean {
  for (let i = from; i >= 0 && i < rows.length; i += step) if (rows[i] !== undefined) return true;
  return false;
}

/**
 * One page of `rows` (creation order, holes for deleted rows) under WorkOS cursor rules: `after` pages
 * away from the cursor in list order, `before` towards the start, and the answer's `before`/`after`
 * are the page's first/last ids, or null when nothing lies that way. A cursor that is not in `rows`
 * yields an empty page.
 */
export function paginate<T extends { id: string }>(rows: readonly (T | undefined)[], query: ListQuery, positions?: ReadonlyMap<string, number>): ListPage<T> {
  const forward = query.order === 'asc' ? 1 : -1;
  const cursor = query.after ?? query.before;
  let step = forward;
  let start = forward === 1 ? 0 : rows.length - 1;
  if (cursor !== null) {
    const position = positions ? positions.get(cursor) : rows.findIndex((row) => row?.id === cursor);
    if (position === undefined || position < 0) return { data: [], before: null, after: null };
    if (query.after === null) step = -forward;
    start = position + step;
  }
  const data: T[] = [];
  let first = -1;
  let last = -1;
  for (let i = start; i >= 0 && i < rows.length && data.length < query.limit; i += step) {
    const row = rows[i];
    if (row === undefined) continue;
    if (first < 0) first = i;
    last = i;
    data.push(row);
  }
  if (data.length === 0) return { data, before: null, after: null };
  const beyond = liveRowExists(rows, last + step, step);
  const behind = liveRowExists(rows, first - step, -step);
  if (step !== forward) data.reverse();
  const [hasBefore, hasAfter] = step === forward ? [behind, beyond] : [beyond, behind];
  return { data, before: hasBefore ? (data[0] as T).id : null, after: hasAfter ? (data[data.length - 1] as T).id : null };
}

/** Rows in creation order; a deleted row leaves a hole so cursors pointing at it keep their place. */
export class Table<T extends { id: string }> {
  private readonly rows: (T | undefined)[] = [];
  private readonly positions = new Map<string, number>();
  private live = 0;

  get size(): number {
    return this.live;
  }

  get(id: string): T | undefined {
    const position = this.positions.get(id);
    return position === undefined ? undefined : this.rows[position];
  }

  *values(): IterableIterator<T> {
    for (const row of this.rows) if (row !== undefined) yield row;
  }

  insert(row: T): void {
    this.positions.set(row.id, this.rows.length);
    this.rows.push(row);
    this.live++;
  }

  delete(id: string): T | undefined {
    const position = this.positions.get(id);
    const row = position === undefined ? undefined : this.rows[position];
    if (position === undefined || row === undefined) return undefined;
    this.rows[position] = undefined;
    this.live--;
    return row;
  }

  page(query: ListQuery): ListPage<T> {
    return paginate(this.rows, query, this.positions);
  }
}

function addTo<K, V>(index: Map<K, V[]>, key: K, value: V): void {
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
}

function removeFrom<K, V>(index: Map<K, V[]>, key: K, value: V): void {
  const list = index.get(key);
  const position = list ? list.indexOf(value) : -1;
  if (list && position >= 0) list.splice(position, 1);
}

const pairKey = (userId: string, organizationId: string) => `${userId} ${organizationId}`;

export type UserChanges = Partial<Omit<User, 'object' | 'id' | 'created_at'>>;
export type OrganizationChanges = Partial<Omit<Organization, 'object' | 'id' | 'created_at'>>;

export class EmulatorStore {
  readonly newId: IdFactory = createIdFactory();
  readonly users = new Table<User>();
  readonly organizations = new Table<Organization>();
  readonly memberships = new Table<OrganizationMembership>();
  readonly authFactors = new Table<AuthenticationFactor>();
  private readonly userIdByEmail = new Map<string, string>();
  private readonly userIdByExternalId = new Map<string, string>();
  private readonly organizationIdByExternalId = new Map<string, string>();
  private readonly organizationIdByDomain = new Map<string, string>();
  private readonly organizationIdByIdempotencyKey = new Map<string, string>();
  private readonly membershipByPair = new Map<string, OrganizationMembership>();
  private readonly membershipsByUser = new Map<string, OrganizationMembership[]>();
  private readonly membershipsByOrganization = new Map<string, OrganizationMembership[]>();
  private readonly authFactorsByUser = new Map<string, AuthenticationFactor[]>();

  /** Emails are unique regardless of case. */
  userByEmail(email: string): User | undefined {
    const id = this.userIdByEmail.get(email.toLowerCase());
    return id === undefined ? undefined : this.users.get(id);
  }

  userByExternalId(externalId: string): User | undefined {
    const id = this.userIdByExternalId.get(externalId);
    return id === undefined ? undefined : this.users.get(id);
  }

  organizationByExternalId(externalId: string): Organization | undefined {
    const id = this.organizationIdByExternalId.get(externalId);
    return id === undefined ? undefined : this.organizations.get(id);
  }

  /** Domains are unique across organizations regardless of case. */
  organizationByDomain(domain: string): Organization | undefined {
    const id = this.organizationIdByDomain.get(domain.toLowerCase());
    return id === undefined ? undefined : this.organizations.get(id);
  }

  /** The organization an earlier create with this Idempotency-Key made, while it exists. */
  organizationByIdempotencyKey(idempotencyKey: string): Organization | undefined {
    const id = this.organizationIdByIdempotencyKey.get(idempotencyKey);
    return id === undefined ? undefined : this.organizations.get(id);
  }

  membershipOf(userId: string, organizationId: string): OrganizationMembership | undefined {
    return this.membershipByPair.get(pairKey(userId, organizationId));
  }

  /** In creation order. */
  membershipsOfUser(userId: string): readonly OrganizationMembership[] {
    return this.membershipsByUser.get(userId) ?? [];
  }

  /** In creation order. */
  membershipsOfOrganization(organizationId: string): readonly OrganizationMembership[] {
    return this.membershipsByOrganization.get(organizationId) ?? [];
  }

  /** In creation order. */
  authFactorsOfUser(userId: string): readonly AuthenticationFactor[] {
    return this.authFactorsByUser.get(userId) ?? [];
  }

  insertUser(user: User): void {
    this.users.insert(user);
    this.userIdByEmail.set(user.email.toLowerCase(), user.id);
    if (user.external_id !== null) this.userIdByExternalId.set(user.external_id, user.id);
  }

  updateUser(user: User, changes: UserChanges): void {
    if (changes.email !== undefined) {
      this.userIdByEmail.delete(user.email.toLowerCase());
      this.userIdByEmail.set(changes.email.toLowerCase(), user.id);
    }
    if (changes.external_id !== undefined) {
      if (user.external_id !== null) this.userIdByExternalId.delete(user.external_id);
      if (changes.external_id !== null) this.userIdByExternalId.set(changes.external_id, user.id);
    }
    Object.assign(user, changes);
  }

  /** Deletes the user with its memberships and factors. */
  deleteUser(id: string): User | undefined {
    const user = this.users.delete(id);
    if (!user) return undefined;
    this.userIdByEmail.delete(user.email.toLowerCase());
    if (user.external_id !== null) this.userIdByExternalId.delete(user.external_id);
    for (const membership of [...this.membershipsOfUser(id)]) this.deleteMembership(membership.id);
    for (const factor of this.authFactorsOfUser(id)) this.authFactors.delete(factor.id);
    this.authFactorsByUser.delete(id);
    return user;
  }

  insertOrganization(organization: Organization, idempotencyKey: string | null): void {
    this.organizations.insert(organization);
    if (idempotencyKey !== null) this.organizationIdByIdempotencyKey.set(idempotencyKey, organization.id);
    this.indexOrganization(organization);
  }

  updateOrganization(organization: Organization, changes: OrganizationChanges): void {
    this.unindexOrganization(organization);
    Object.assign(organization, changes);
    this.indexOrganization(organization);
  }

  /** Deletes the organization with its memberships. */
  deleteOrganization(id: string): Organization | undefined {
    const organization = this.organizations.delete(id);
    if (!organization) return undefined;
    this.unindexOrganization(organization);
    for (const membership of [...this.membershipsOfOrganization(id)]) this.deleteMembership(membership.id);
    return organization;
  }

  insertMembership(membership: OrganizationMembership): void {
    this.memberships.insert(membership);
    this.membershipByPair.set(pairKey(membership.user_id, membership.organization_id), membership);
    addTo(this.membershipsByUser, membership.user_id, membership);
    addTo(this.membershipsByOrganization, membership.organization_id, membership);
  }

  deleteMembership(id: string): OrganizationMembership | undefined {
    const membership = this.memberships.delete(id);
    if (!membership) return undefined;
    this.membershipByPair.delete(pairKey(membership.user_id, membership.organization_id));
    removeFrom(this.membershipsByUser, membership.user_id, membership);
    removeFrom(this.membershipsByOrganization, membership.organization_id, membership);
    return membership;
  }

  insertAuthFactor(factor: AuthenticationFactor): void {
    this.authFactors.insert(factor);
    addTo(this.authFactorsByUser, factor.user_id, factor);
  }

  /** What removing a factor in the WorkOS dashboard does. */
  deleteAuthFactor(id: string): AuthenticationFactor | undefined {
    const factor = this.authFactors.delete(id);
    if (factor) removeFrom(this.authFactorsByUser, factor.user_id, factor);
    return factor;
  }

  private indexOrganization(organization: Organization): void {
    if (organization.external_id !== null) this.organizationIdByExternalId.set(organization.external_id, organization.id);
    for (const { domain } of organization.domains) this.organizationIdByDomain.set(domain.toLowerCase(), organization.id);
  }

  private unindexOrganization(organization: Organization): void {
    if (organization.external_id !== null) this.organizationIdByExternalId.delete(organization.external_id);
    for (const { domain } of organization.domains) this.organizationIdByDomain.delete(domain.toLowerCase());
  }
}
