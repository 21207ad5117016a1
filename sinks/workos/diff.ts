// The proof that a migration landed: every user the ledger's runs read is looked for in WorkOS and compared with what
// was sent, with its memberships and TOTP factor, and WorkOS users the ledger does not know are listed. WorkOS is read
// by listing (a hundred users a call, not a call per user) into a scratch database beside nothing: better-sqlite3's
// anonymous database lives in a temporary file, so a million users cost disk, not memory.
import Database from 'better-sqlite3';
import type { User } from '@workos-inc/node';
import type { UserDraft } from '../../pipelines/record.ts';
import type { Ledger, LedgerRow, RowError, RowState } from '../../state/ledger.ts';
import { AuthpipeError } from '../../pipelines/errors.ts';
import { notWorkos, type WorkosApi } from './api.ts';
import { CallFailed, isNotFound } from './classify.ts';
import { sameRoles } from './memberships.ts';
import { changesBetween } from './payload.ts';

/** The user fields the ledger's payload and WorkOS both hold; password hashes WorkOS never returns. */
type ComparedField = 'email' | 'emailVerified' | 'firstName' | 'lastName' | 'externalId' | 'metadata';

type ComparedUser = Pick<User, 'email' | 'emailVerified' | 'firstName' | 'lastName' | 'externalId' | 'metadata'>;

export interface FieldDifference {
  field: ComparedField;
  ledger: unknown;
  workos: unknown;
}

/** One line of the report: what the ledger expects that WorkOS does not have, or the other way round. */
export type Difference =
  | { kind: 'user_missing'; key: string; email: string | null; state: RowState; workosUserId: string | null; workosUserWithEmail?: string }
  | { kind: 'user_mismatched'; key: string; email: string | null; state: RowState; workosUserId: string; fields: FieldDifference[] }
  | { kind: 'user_unknown'; workosUserId: string; email: string }
  | { kind: 'membership_missing'; key: string; org: string; roles: string[]; workosUserId: string | null; workosOrgId: string | null }
  | { kind: 'membership_roles'; key: string; org: string; roles: string[]; workosRoles: string[] }
  | { kind: 'factor_missing'; key: string; workosUserId: string | null };

export interface DiffCounts {
  /** Rows the ledger expects in WorkOS (every row but invalid ones). */
  expected: number;
  /** Of those, in WorkOS with every compared field as sent. */
  landed: number;
  missing: number;
  mismatched: number;
  mismatchedFields: Partial<Record<ComparedField, number>>;
  /** Rows validation kept out: never sent, not looked for. */
  invalid: number;
  /** WorkOS users no row of the ledger became (there before the migration, or made another way). */
  unknown: number;
  memberships: { expected: number; missing: number; otherRoles: number };
  factors: { expected: number; missing: number };
  /** WorkOS users read. */
  workosUsers: number;
}

export function emptyDiffCounts(): DiffCounts {
  return {
    expected: 0,
    landed: 0,
    missing: 0,
    mismatched: 0,
    mismatchedFields: {},
    invalid: 0,
    unknown: 0,
    memberships: { expected: 0, missing: 0, otherRoles: 0 },
    factors: { expected: 0, missing: 0 },
    workosUsers: 0,
  };
}

/** Whether the diff found anything the ledger expects that WorkOS does not hold as sent. */
export function hasDifferences(counts: DiffCounts): boolean {
  return counts.missing + counts.mismatched + counts.memberships.missing + counts.memberships.otherRoles + counts.factors.missing > 0;
}

interface ListPage<T> {
  data: T[];
  listMetadata: { after?: string | null };
}

/**
 * Every item of a WorkOS list, a page at a time, through the read budget; none when WorkOS answers 404 (the
 * organization or user it belongs to is gone). Any other failure stops the diff: a list read in part proves nothing.
 */
async function* pagesOf<T>(api: WorkosApi, what: string, list: (after: string | undefined) => Promise<ListPage<T>>): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    let page: ListPage<T>;
    try {
      page = await api.idempotent('read', () => list(after));
    } catch (error) {
      if (isNotFound(error)) return;
      if (error instanceof CallFailed) throw new AuthpipeError('diff.list_failed', `cannot list ${what} (${error.failure.code}: ${error.failure.message}); nothing was compared`);
      throw error;
    }
    yield page.data;
    const next = page.listMetadata.after ?? null;
    if (next === null || page.data.length === 0) return;
    // A cursor that points back at its own page would list it forever.
    if (next === after) throw notWorkos(`a list page names itself as the next one (after=${next})`);
    after = next;
  }
}

const emptyToNull = (value: string | null | undefined) => (value === undefined || value === '' ? null : value);

function sortedMetadata(metadata: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The fields of `sent` WorkOS holds otherwise. An email differing only in case is the same email (WorkOS may lower it). */
function fieldDifferences(sent: UserDraft, held: ComparedUser): FieldDifference[] {
  const differences: FieldDifference[] = [];
  const compare = (field: ComparedField, ledger: unknown, workos: unknown, same: boolean) => {
    if (!same) differences.push({ field, ledger, workos });
  };
  compare('email', sent.email ?? null, held.email, (sent.email ?? '').toLowerCase() === held.email.toLowerCase());
  // Not sent: WorkOS chose (false); nothing to compare.
  if (sent.emailVerified !== undefined) compare('emailVerified', sent.emailVerified, held.emailVerified, sent.emailVerified === held.emailVerified);
  compare('firstName', sent.firstName ?? null, held.firstName, emptyToNull(sent.firstName) === emptyToNull(held.firstName));
  compare('lastName', sent.lastName ?? null, held.lastName, emptyToNull(sent.lastName) === emptyToNull(held.lastName));
  compare('externalId', sent.externalId ?? null, held.externalId, emptyToNull(sent.externalId) === emptyToNull(held.externalId));
  const [sentMetadata, heldMetadata] = [sortedMetadata(sent.metadata), sortedMetadata(held.metadata)];
  compare('metadata', sentMetadata, heldMetadata, JSON.stringify(sentMetadata) === JSON.stringify(heldMetadata));
  return differences;
}

/** WorkOS's users, memberships and factors as read, in a temporary database of their own. */
class Scratch {
  private readonly db = new Database('');
  private readonly statements;

  constructor() {
    this.db.exec(`
      CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, user TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE INDEX users_by_email ON users (email);
      CREATE TABLE memberships (user_id TEXT NOT NULL, org_id TEXT NOT NULL, roles TEXT NOT NULL, PRIMARY KEY (user_id, org_id)) WITHOUT ROWID;
    `);
    this.statements = {
      addUser: this.db.prepare('INSERT OR REPLACE INTO users (id, email, user) VALUES (?, ?, ?)'),
      user: this.db.prepare('SELECT id, user FROM users WHERE id = ?'),
      userByEmail: this.db.prepare('SELECT id, user FROM users WHERE email = ? LIMIT 1'),
      matched: this.db.prepare('UPDATE users SET matched = 1 WHERE id = ?'),
      unmatched: this.db.prepare('SELECT id, email FROM users WHERE matched = 0 AND id > ? ORDER BY id LIMIT 500'),
      addMembership: this.db.prepare('INSERT OR REPLACE INTO memberships (user_id, org_id, roles) VALUES (?, ?, ?)'),
      membership: this.db.prepare('SELECT roles FROM memberships WHERE user_id = ? AND org_id = ?').pluck(),
    };
  }

  readonly addUsers = (users: User[]) =>
    this.db.transaction(() => {
      for (const { id, email, emailVerified, firstName, lastName, externalId, metadata } of users) {
        this.statements.addUser.run(id, email.toLowerCase(), JSON.stringify({ email, emailVerified, firstName, lastName, externalId, metadata }));
      }
    })();

  /** The WorkOS user with this id, else the one with this email; marked as one the ledger knows. */
  take(id: string | null, email: string | undefined): { id: string; user: ComparedUser } | undefined {
    const row = ((id === null ? undefined : this.statements.user.get(id)) ?? (email === undefined ? undefined : this.statements.userByEmail.get(email.toLowerCase()))) as
      | { id: string; user: string }
      | undefined;
    if (row === undefined) return undefined;
    this.statements.matched.run(row.id);
    return { id: row.id, user: JSON.parse(row.user) as ComparedUser };
  }

  has(id: string): boolean {
    return this.statements.user.get(id) !== undefined;
  }

  /** The id of the WorkOS user with this email, if any, without marking it. */
  idWithEmail(email: string | undefined): string | undefined {
    return email === undefined ? undefined : (this.statements.userByEmail.get(email.toLowerCase()) as { id: string } | undefined)?.id;
  }

  *unmatchedUsers(): Generator<{ id: string; email: string }> {
    let after = '';
    for (;;) {
      const rows = this.statements.unmatched.all(after) as { id: string; email: string }[];
      yield* rows;
      if (rows.length < 500) return;
      after = (rows[rows.length - 1] as { id: string }).id;
    }
  }

  addMemberships(memberships: { userId: string; organizationId: string; roles: string[] }[]): void {
    this.db.transaction(() => {
      for (const { userId, organizationId, roles } of memberships) this.statements.addMembership.run(userId, organizationId, JSON.stringify(roles));
    })();
  }

  rolesOf(userId: string, orgId: string): string[] | undefined {
    const roles = this.statements.membership.get(userId, orgId) as string | undefined;
    return roles === undefined ? undefined : (JSON.parse(roles) as string[]);
  }

  close(): void {
    this.db.close();
  }
}

export interface DiffProgress {
  /** Hears how far the diff is, for people watching a long one. */
  onStep(message: string): void;
}

/**
 * Compares the ledger with WorkOS and yields every difference; `counts` is filled as it goes. Reads only: every
 * WorkOS user (listed), the active memberships of every organization the ledger resolved, and the factors of each
 * user the ledger enrolled one for.
 */
export async function* diffLedger(api: WorkosApi, ledger: Ledger, counts: DiffCounts, progress: DiffProgress): AsyncGenerator<Difference> {
  const scratch = new Scratch();
  try {
    const { userManagement } = api.sdk;
    for await (const users of pagesOf(api, 'the WorkOS users', (after) => userManagement.listUsers({ limit: 100, after }))) {
      scratch.addUsers(users);
      counts.workosUsers += users.length;
    }
    progress.onStep(`diff: read ${counts.workosUsers} WorkOS users`);
    for (const orgId of ledger.orgIds()) {
      for await (const memberships of pagesOf(api, `the memberships of organization ${orgId}`, (after) => userManagement.listOrganizationMemberships({ organizationId: orgId, limit: 100, after }))) {
        scratch.addMemberships(
          memberships.map((membership) => ({ ...membership, roles: membership.roles?.map((role) => role.slug) ?? [membership.role.slug] })),
        );
      }
    }
    for (const row of ledger.rows()) {
      const difference = compareRow(row, scratch, counts);
      if (difference === undefined) continue;
      recordUserDifference(ledger, row, difference);
      yield difference;
    }
    for (const membership of ledger.memberships()) {
      counts.memberships.expected++;
      const { userKey: key, orgKey: org, roles, workosUserId, workosOrgId } = membership;
      const held = workosUserId === null || workosOrgId === null ? undefined : scratch.rolesOf(workosUserId, workosOrgId);
      if (held === undefined) {
        counts.memberships.missing++;
        ledger.membershipFailed(key, org, roles, found('diff.membership_missing', 'the diff found no active membership in WorkOS'));
        ledger.diffFound(key, found('diff.membership_missing', `the diff found no membership in ${org} in WorkOS`), false, null);
        yield { kind: 'membership_missing', key, org, roles, workosUserId, workosOrgId };
      } else if (roles.length > 0 && !sameRoles(held, roles)) {
        // No roles asked for: WorkOS gives its default role, whichever it is.
        counts.memberships.otherRoles++;
        ledger.membershipFailed(key, org, roles, found('diff.membership_roles', `the diff found roles ${held.join(', ')} in WorkOS`));
        ledger.diffFound(key, found('diff.membership_roles', `the diff found other roles in ${org} in WorkOS`), false, null);
        yield { kind: 'membership_roles', key, org, roles, workosRoles: held };
      }
    }
    for (const factor of ledger.factors()) {
      counts.factors.expected++;
      const { userKey: key, workosUserId, workosFactorId } = factor;
      if (workosUserId !== null && scratch.has(workosUserId) && (await hasTotpFactor(api, workosUserId, workosFactorId))) continue;
      counts.factors.missing++;
      ledger.factorFailed(key, found('diff.factor_missing', 'the diff found no TOTP factor in WorkOS'), null);
      ledger.diffFound(key, found('diff.factor_missing', 'the diff found no TOTP factor in WorkOS'), false, null);
      yield { kind: 'factor_missing', key, workosUserId };
    }
    for (const user of scratch.unmatchedUsers()) {
      counts.unknown++;
      yield { kind: 'user_unknown', workosUserId: user.id, email: user.email };
    }
  } finally {
    scratch.close();
  }
}

/** A finding as the ledger records it: failed/retryable, so that the next run or `replay` sends it again. */
const found = (code: string, message: string): RowError<'retryable'> => ({ errorClass: 'retryable', code, message: `${message}; the next run or a replay sends it again` });

/**
 * A row the ledger has as done that WorkOS lacks is done no more: a lost user is looked up, else created, again; one
 * with other values is updated with the fields sent. Rows not done keep the failure they have, which says more.
 */
function recordUserDifference(ledger: Ledger, row: LedgerRow, difference: Difference): void {
  if (row.state !== 'done' || row.payload === null) return;
  if (difference.kind === 'user_missing') {
    ledger.diffFound(row.key, found('diff.user_missing', `the diff found no WorkOS user ${row.workosUserId ?? ''}`), true, null);
  } else if (difference.kind === 'user_mismatched') {
    const held = Object.fromEntries(difference.fields.map(({ field, workos }) => [field, workos ?? undefined])) as UserDraft;
    const sent = Object.fromEntries(difference.fields.map(({ field }) => [field, row.payload?.[field] ?? (field === 'metadata' ? {} : undefined)])) as UserDraft;
    const fields = difference.fields.map(({ field }) => field).join(', ');
    ledger.diffFound(row.key, found('diff.user_mismatched', `the diff found other values in WorkOS for ${fields}`), false, changesBetween(held, sent));
  }
}

function compareRow(row: LedgerRow, scratch: Scratch, counts: DiffCounts): Difference | undefined {
  const { key, state, payload } = row;
  if (state === 'invalid' || payload === null) {
    counts.invalid++;
    // A user written before its row became invalid (its source changed since) is still the ledger's.
    if (row.workosUserId !== null) scratch.take(row.workosUserId, undefined);
    return undefined;
  }
  counts.expected++;
  const email = payload.email ?? null;
  // A row never written has no id: WorkOS may still hold it (its answer was lost), found by its email.
  const found = scratch.take(row.workosUserId, row.workosUserId === null ? payload.email : undefined);
  if (found === undefined) {
    counts.missing++;
    const other = row.workosUserId === null ? undefined : scratch.idWithEmail(payload.email);
    return { kind: 'user_missing', key, email, state, workosUserId: row.workosUserId, ...(other === undefined ? {} : { workosUserWithEmail: other }) };
  }
  const fields = fieldDifferences(payload, found.user);
  if (fields.length === 0) {
    counts.landed++;
    return undefined;
  }
  counts.mismatched++;
  for (const { field } of fields) counts.mismatchedFields[field] = (counts.mismatchedFields[field] ?? 0) + 1;
  return { kind: 'user_mismatched', key, email, state, workosUserId: found.id, fields };
}

async function hasTotpFactor(api: WorkosApi, userId: string, factorId: string | null): Promise<boolean> {
  for await (const factors of pagesOf(api, `the factors of user ${userId}`, (after) => api.sdk.userManagement.listAuthFactors({ userId, limit: 100, after }))) {
    if (factors.some((factor) => factor.type === 'totp' && (factorId === null || factor.id === factorId))) return true;
  }
  return false;
}
