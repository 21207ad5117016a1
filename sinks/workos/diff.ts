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
import { holdsRoles, rolesOf, type HeldRoles } from './memberships.ts';
import { knownOrgId, orgKeyOf } from './orgs.ts';
import { changesBetween } from './payload.ts';
import { heldAsDraft } from './users.ts';
import { secretHashOf } from './totp.ts';

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
  | { kind: 'membership_not_in_source'; key: string; org: string; workosUserId: string; workosOrgId: string }
  | { kind: 'factor_missing'; key: string; workosUserId: string | null }
  | { kind: 'factor_other_secret'; key: string; workosUserId: string }
  | { kind: 'factors_extra'; key: string; workosUserId: string; workosFactorIds: string[]; ledgerFactorId: string | null };

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
  /** notInSource: memberships the writer made that the row no longer asks for, still in WorkOS (it leaves them). */
  memberships: { expected: number; missing: number; otherRoles: number; notInSource: number };
  /**
   * otherSecret: factors enrolled (or found) for an earlier secret of the source, which WorkOS keeps. extra: users with
   * more than one TOTP factor (an enrolment a server applied after the writer gave up on it, or one made another way).
   */
  factors: { expected: number; missing: number; otherSecret: number; extra: number };
  /** WorkOS users read. */
  workosUsers: number;
  /** Rows with a difference the ledger had as done, now failed/retryable so that they are sent again. */
  resent: number;
  /** Rows with a difference the ledger had failed, in flight or pending already: their own failure says more. */
  unsettled: number;
  /** Stopped (Ctrl-C) before every row was compared. */
  interrupted: boolean;
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
    memberships: { expected: 0, missing: 0, otherRoles: 0, notInSource: 0 },
    factors: { expected: 0, missing: 0, otherSecret: 0, extra: 0 },
    workosUsers: 0,
    resent: 0,
    unsettled: 0,
    interrupted: false,
  };
}

/** Whether the diff found anything the ledger expects that WorkOS does not hold as sent. */
export function hasDifferences(counts: DiffCounts): boolean {
  return counts.missing + counts.mismatched + counts.memberships.missing + counts.memberships.otherRoles + counts.factors.missing + counts.factors.otherSecret + counts.factors.extra > 0;
}

interface ListPage<T> {
  data: T[];
  listMetadata: { after?: string | null };
}

/**
 * Every item of a WorkOS list, a page at a time, through the read budget. `goneOn404`: the list belongs to something
 * (an organization, a user) that may be gone, and a 404 means it holds nothing; elsewhere a 404 is not WorkOS's
 * answer. Any other failure stops the diff: a list read in part proves nothing.
 */
async function* pagesOf<T>(api: WorkosApi, what: string, goneOn404: boolean, list: (after: string | undefined) => Promise<ListPage<T>>): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    let page: ListPage<T>;
    try {
      page = await api.idempotent('read', () => list(after));
    } catch (error) {
      if (goneOn404 && isNotFound(error)) return;
      if (error instanceof CallFailed) throw new AuthpipeError('diff.list_failed', `cannot list ${what} (${error.failure.code}: ${error.failure.message}); the diff stops`);
      throw error;
    }
    if (!Array.isArray(page.data)) throw notWorkos(`listing ${what} gave no list`);
    yield page.data;
    const next = page.listMetadata.after ?? null;
    if (next === null || page.data.length === 0) return;
    // A cursor that points back at its own page would list it forever.
    if (next === after) throw notWorkos(`a list page names itself as the next one (after=${next})`);
    after = next;
  }
}

const isBlank = (value: string | null | undefined) => value === undefined || value === null || value === '';

/**
 * The fields of `sent` WorkOS holds otherwise. Only what the row sent is compared: a field it left out (no last name,
 * no external id) and a metadata key it does not have are left alone by the writer, so WorkOS may hold anything there
 * (a user that was there before the migration keeps its own). An email differing only in case is the same email.
 */
function fieldDifferences(sent: UserDraft, held: ComparedUser): FieldDifference[] {
  const differences: FieldDifference[] = [];
  if (sent.email !== undefined && sent.email.toLowerCase() !== held.email.toLowerCase()) differences.push({ field: 'email', ledger: sent.email, workos: held.email });
  if (sent.emailVerified !== undefined && sent.emailVerified !== held.emailVerified) differences.push({ field: 'emailVerified', ledger: sent.emailVerified, workos: held.emailVerified });
  for (const field of ['firstName', 'lastName', 'externalId'] as const) {
    const value = sent[field];
    if (!isBlank(value) && value !== held[field]) differences.push({ field, ledger: value, workos: held[field] });
  }
  const heldMetadata = held.metadata ?? {};
  const otherKeys = Object.entries(sent.metadata ?? {}).filter(([key, value]) => heldMetadata[key] !== value);
  if (otherKeys.length > 0) {
    const keys = otherKeys.map(([key]) => key);
    differences.push({ field: 'metadata', ledger: Object.fromEntries(otherKeys), workos: Object.fromEntries(keys.map((key) => [key, heldMetadata[key] ?? null])) });
  }
  return differences;
}

interface FoundUser {
  id: string;
  user: ComparedUser;
}

/** WorkOS's users and the memberships of the organizations asked about, as read, in a temporary database of their own. */
class Scratch {
  private readonly db = new Database('');
  private readonly statements;
  /** Organizations whose memberships are listed here. */
  private readonly listedOrgs = new Set<string>();

  constructor() {
    this.db.exec(`
      CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, user TEXT NOT NULL, matched INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE INDEX users_by_email ON users (email);
      CREATE TABLE memberships (user_id TEXT NOT NULL, org_id TEXT NOT NULL, held TEXT NOT NULL, PRIMARY KEY (user_id, org_id)) WITHOUT ROWID;
    `);
    this.statements = {
      addUser: this.db.prepare('INSERT OR REPLACE INTO users (id, email, user) VALUES (?, ?, ?)'),
      user: this.db.prepare('SELECT id, user FROM users WHERE id = ?'),
      userByEmail: this.db.prepare('SELECT id, user FROM users WHERE email = ? LIMIT 1'),
      matched: this.db.prepare('UPDATE users SET matched = 1 WHERE id = ?'),
      unmatched: this.db.prepare('SELECT id, user FROM users WHERE matched = 0 AND id > ? ORDER BY id LIMIT 500'),
      addMembership: this.db.prepare('INSERT OR REPLACE INTO memberships (user_id, org_id, held) VALUES (?, ?, ?)'),
      membership: this.db.prepare('SELECT held FROM memberships WHERE user_id = ? AND org_id = ?').pluck(),
    };
  }

  addUsers(users: User[]): void {
    this.db.transaction(() => {
      for (const { id, email, emailVerified, firstName, lastName, externalId, metadata } of users) {
        this.statements.addUser.run(id, email.toLowerCase(), JSON.stringify({ email, emailVerified, firstName, lastName, externalId, metadata }));
      }
    })();
  }

  private found(row: { id: string; user: string } | undefined): FoundUser | undefined {
    return row && { id: row.id, user: JSON.parse(row.user) as ComparedUser };
  }

  byId(id: string): FoundUser | undefined {
    return this.found(this.statements.user.get(id) as { id: string; user: string } | undefined);
  }

  byEmail(email: string): FoundUser | undefined {
    return this.found(this.statements.userByEmail.get(email.toLowerCase()) as { id: string; user: string } | undefined);
  }

  /** Marks the WorkOS user as one a row of the ledger became. */
  claim(id: string): void {
    this.statements.matched.run(id);
  }

  *unmatchedUsers(): Generator<{ id: string; email: string }> {
    let after = '';
    for (;;) {
      const rows = this.statements.unmatched.all(after) as { id: string; user: string }[];
      for (const row of rows) yield { id: row.id, email: (JSON.parse(row.user) as ComparedUser).email };
      if (rows.length < 500) return;
      after = (rows[rows.length - 1] as { id: string }).id;
    }
  }

  /** Lists the organization's memberships the first time it is asked about. */
  async listMembershipsOf(api: WorkosApi, orgId: string): Promise<void> {
    if (this.listedOrgs.has(orgId)) return;
    this.listedOrgs.add(orgId);
    const { userManagement } = api.sdk;
    for await (const memberships of pagesOf(api, `the memberships of organization ${orgId}`, true, (after) => userManagement.listOrganizationMemberships({ organizationId: orgId, limit: 100, after }))) {
      this.db.transaction(() => {
        for (const membership of memberships) {
          // WorkOS lists active ones unless asked for others; a server that ignores that lists deactivated ones too.
          if (membership.status !== 'active') continue;
          const held: HeldRoles = { roles: membership.roles?.map(({ slug }) => ({ slug })), role: { slug: membership.role.slug } };
          this.statements.addMembership.run(membership.userId, membership.organizationId, JSON.stringify(held));
        }
      })();
    }
  }

  membership(userId: string, orgId: string): HeldRoles | undefined {
    const held = this.statements.membership.get(userId, orgId) as string | undefined;
    return held === undefined ? undefined : (JSON.parse(held) as HeldRoles);
  }

  close(): void {
    this.db.close();
  }
}

export interface DiffProgress {
  /** Hears how far the diff is, for people watching a long one. */
  onStep(message: string): void;
  /** Milliseconds between two lines while a step goes on: a million users take minutes to read, and to compare. */
  everyMs: number;
}

/** Whether a line is due: true at most once per `everyMs`. */
function pacer(everyMs: number): () => boolean {
  let saidAt = performance.now();
  return () => {
    const now = performance.now();
    if (now - saidAt < everyMs) return false;
    saidAt = now;
    return true;
  };
}

/** A finding as the ledger records it: failed/retryable, so that the next run or `replay` sends it again. */
const found = (code: string, message: string): RowError<'retryable'> => ({ errorClass: 'retryable', code, message: `${message}; the next run or a replay sends it again` });

/**
 * Compares the ledger with WorkOS and yields every difference; `counts` is filled as it goes. Reads: every WorkOS
 * user (listed), the active memberships of each organization a row names (listed once), and the factors of each user
 * whose row has a TOTP secret. What a row asks for is what is expected (its organizations and secret as sent), whatever
 * state the ledger has it in: a row a kill left in flight may have its user and none of its memberships.
 */
export async function* diffLedger(api: WorkosApi, ledger: Ledger, counts: DiffCounts, progress: DiffProgress): AsyncGenerator<Difference> {
  const scratch = new Scratch();
  try {
    const { userManagement } = api.sdk;
    const due = pacer(progress.everyMs);
    for await (const users of pagesOf(api, 'the WorkOS users', false, (after) => userManagement.listUsers({ limit: 100, after }))) {
      scratch.addUsers(users);
      counts.workosUsers += users.length;
      if (due()) progress.onStep(`diff: read ${counts.workosUsers} WorkOS users so far`);
    }
    progress.onStep(`diff: read ${counts.workosUsers} WorkOS users`);
    const rows = ledger.status().rows;
    let compared = 0;
    for (const row of ledger.rows()) {
      if (due()) progress.onStep(`diff: compared ${compared} of the ledger's ${rows} rows`);
      compared++;
      if (row.state === 'invalid' || row.payload === null) {
        counts.invalid++;
        // A user written before its row became invalid (its source changed since) is still the ledger's.
        if (row.workosUserId !== null) scratch.claim(row.workosUserId);
        continue;
      }
      yield* compareRow(api, ledger, scratch, row, row.payload, counts);
    }
    for (const user of scratch.unmatchedUsers()) {
      counts.unknown++;
      yield { kind: 'user_unknown', workosUserId: user.id, email: user.email };
    }
  } finally {
    scratch.close();
  }
}

/**
 * The row's WorkOS user: by the id the ledger recorded (listed, else asked for, as a list may lag behind), else by
 * email for a row with no id yet (its answer lost), unless that user holds another external id (another person).
 */
async function findRowUser(api: WorkosApi, scratch: Scratch, row: LedgerRow, sent: UserDraft): Promise<FoundUser | undefined> {
  if (row.workosUserId !== null) {
    const listed = scratch.byId(row.workosUserId);
    if (listed !== undefined) return listed;
    try {
      const user = await api.idempotent('read', () => api.sdk.userManagement.getUser(row.workosUserId as string));
      scratch.addUsers([user]);
      return scratch.byId(user.id);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
  if (sent.email === undefined) return undefined;
  const byEmail = scratch.byEmail(sent.email);
  if (byEmail === undefined) return undefined;
  const heldExternalId = byEmail.user.externalId;
  return sent.externalId !== undefined && !isBlank(heldExternalId) && heldExternalId !== sent.externalId ? undefined : byEmail;
}

async function* compareRow(api: WorkosApi, ledger: Ledger, scratch: Scratch, row: LedgerRow, sent: UserDraft, counts: DiffCounts): AsyncGenerator<Difference> {
  let differs = false;
  for await (const difference of rowDifferences(api, ledger, scratch, row, sent, counts)) {
    // A membership the source dropped, or a factor too many, is reported, not recorded: the row has nothing to send
    // again for it.
    if (difference.kind !== 'membership_not_in_source' && difference.kind !== 'factors_extra') differs = true;
    yield difference;
  }
  if (differs && row.state === 'done') counts.resent++;
  else if (differs) counts.unsettled++;
}

async function* rowDifferences(api: WorkosApi, ledger: Ledger, scratch: Scratch, row: LedgerRow, sent: UserDraft, counts: DiffCounts): AsyncGenerator<Difference> {
  const { key, state } = row;
  const email = sent.email ?? null;
  counts.expected++;
  const user = await findRowUser(api, scratch, row, sent);
  // Only a row the ledger has as done is made to be sent again: the others keep the failure they have, which says
  // more, and are sent again by the next run or a replay anyway.
  const done = state === 'done';
  if (user === undefined) {
    counts.missing++;
    const other = sent.email === undefined ? undefined : scratch.byEmail(sent.email)?.id;
    if (done) ledger.diffFound(key, found('diff.user_missing', `the diff found no WorkOS user ${row.workosUserId ?? ''}`), true, null);
    yield { kind: 'user_missing', key, email, state, workosUserId: row.workosUserId, ...(other === undefined ? {} : { workosUserWithEmail: other }) };
  } else {
    scratch.claim(user.id);
    const fields = fieldDifferences(sent, user.user);
    if (fields.length === 0) {
      counts.landed++;
    } else {
      counts.mismatched++;
      for (const { field } of fields) counts.mismatchedFields[field] = (counts.mismatchedFields[field] ?? 0) + 1;
      if (done) recordMismatch(ledger, key, fields, user.user, sent);
      yield { kind: 'user_mismatched', key, email, state, workosUserId: user.id, fields };
    }
  }
  const userId = user?.id ?? null;
  if (userId !== null) yield* membershipsNotInSource(api, ledger, scratch, key, userId, sent, counts);
  for (const org of sent.orgs ?? []) {
    const orgKey = orgKeyOf(org);
    if (orgKey === null) continue;
    counts.memberships.expected++;
    const roles = [...new Set(org.roles)];
    const orgId = knownOrgId(ledger, orgKey) ?? null;
    if (orgId !== null) await scratch.listMembershipsOf(api, orgId);
    const held = userId === null || orgId === null ? undefined : scratch.membership(userId, orgId);
    if (held === undefined) {
      counts.memberships.missing++;
      ledger.membershipFailed(key, orgKey, roles, found('diff.membership_missing', 'the diff found no active membership in WorkOS'));
      if (done) ledger.diffFound(key, found('diff.membership_missing', `the diff found no membership in ${orgKey} in WorkOS`), false, null);
      yield { kind: 'membership_missing', key, org: orgKey, roles, workosUserId: userId, workosOrgId: orgId };
    } else if (!holdsRoles(held, roles)) {
      counts.memberships.otherRoles++;
      ledger.membershipFailed(key, orgKey, roles, found('diff.membership_roles', `the diff found roles ${rolesOf(held).join(', ')} in WorkOS`));
      if (done) ledger.diffFound(key, found('diff.membership_roles', `the diff found other roles in ${orgKey} in WorkOS`), false, null);
      yield { kind: 'membership_roles', key, org: orgKey, roles, workosRoles: rolesOf(held) };
    }
  }
  if (sent.totpSecret !== undefined) {
    counts.factors.expected++;
    const known = ledger.factor(key);
    const enrolled = userId === null ? [] : await totpFactorIdsOf(api, userId);
    const recorded = known?.workosFactorId ?? null;
    if (userId === null || enrolled.length === 0 || (recorded !== null && !enrolled.includes(recorded))) {
      counts.factors.missing++;
      const missing = found('diff.factor_missing', 'the diff found no TOTP factor in WorkOS');
      ledger.factorFailed(key, missing, null);
      if (done) ledger.diffFound(key, missing, false, null);
      yield { kind: 'factor_missing', key, workosUserId: userId };
    } else if (known?.secretHash != null && known.secretHash !== secretHashOf(sent.totpSecret)) {
      // WorkOS keeps the factor it has: the writer fails such a row (totp_secret_changed) until it is removed there.
      counts.factors.otherSecret++;
      if (done) ledger.diffFound(key, found('diff.factor_other_secret', 'the diff found the TOTP factor holds an earlier secret of the source'), false, null);
      yield { kind: 'factor_other_secret', key, workosUserId: userId };
    }
    // Any of them lets its holder in: the owner removes those the source's secret is not in (WorkOS shows no secret).
    if (userId !== null && enrolled.length > 1) {
      counts.factors.extra++;
      yield { kind: 'factors_extra', key, workosUserId: userId, workosFactorIds: enrolled, ledgerFactorId: recorded };
    }
  }
}

/**
 * The memberships the writer made for a row whose source no longer names their organization: the writer leaves them
 * (a membership is access; whether it ends is the migration owner's call), so the diff names each still in WorkOS.
 */
async function* membershipsNotInSource(api: WorkosApi, ledger: Ledger, scratch: Scratch, key: string, userId: string, sent: UserDraft, counts: DiffCounts): AsyncGenerator<Difference> {
  const asked = new Set((sent.orgs ?? []).map(orgKeyOf));
  for (const orgKey of ledger.membershipOrgs(key)) {
    const orgId = asked.has(orgKey) ? undefined : knownOrgId(ledger, orgKey);
    if (orgId === undefined) continue;
    await scratch.listMembershipsOf(api, orgId);
    if (scratch.membership(userId, orgId) === undefined) continue;
    counts.memberships.notInSource++;
    yield { kind: 'membership_not_in_source', key, org: orgKey, workosUserId: userId, workosOrgId: orgId };
  }
}

/**
 * A done row whose user holds other values: updated with the fields sent that differ, as the writer would send them.
 * Metadata as WorkOS holds it unless it differs: a draft without metadata would remove every key.
 */
function recordMismatch(ledger: Ledger, key: string, fields: FieldDifference[], held: ComparedUser, sent: UserDraft): void {
  const names = fields.map(({ field }) => field);
  const heldDraft = heldAsDraft(held, sent);
  const wanted: UserDraft = { metadata: heldDraft.metadata, ...Object.fromEntries(names.map((field) => [field, sent[field]])) };
  ledger.diffFound(key, found('diff.user_mismatched', `the diff found other values in WorkOS for ${names.join(', ')}`), false, changesBetween(heldDraft, wanted));
}

async function totpFactorIdsOf(api: WorkosApi, userId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const factors of pagesOf(api, `the factors of user ${userId}`, true, (after) => api.sdk.userManagement.listAuthFactors({ userId, limit: 100, after }))) {
    for (const factor of factors) if (factor.type === 'totp') ids.push(factor.id);
  }
  return ids;
}
