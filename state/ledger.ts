// The ledger: one SQLite file per migration, the source of truth for what reached WorkOS (design.md, "The
// ledger"). The writer's rule is that a row's `in_flight` mark is committed before its create call is
// sent; everything else (results, org ids, invalid rows) may wait a few milliseconds and be committed
// in the same small transaction as the next marks. A crash loses at most those results, and every
// row they belonged to is still `in_flight`, which the writer reconciles by lookup.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuthpipeError, UsageError } from '../pipelines/errors.ts';
import { positionKey, type Issue, type Origin, type UserDraft } from '../pipelines/record.ts';
import { activeOwnerOf, lockLedger, type LedgerLock, type LockOwner } from './lock.ts';
import { ERROR_CLASSES, ROW_STATES, migrate } from './schema.ts';

export type RowState = (typeof ROW_STATES)[number];
export type ErrorClass = (typeof ERROR_CLASSES)[number];
export type CallErrorClass = Exclude<ErrorClass, 'invalid'>;

export interface RowError<C extends ErrorClass = ErrorClass> {
  errorClass: C;
  code: string;
  message: string;
}

/** User fields WorkOS does not hold yet, as an update would send them; a metadata value null removes the key. */
export type UserChanges = Partial<Pick<UserDraft, 'email' | 'emailVerified' | 'firstName' | 'lastName' | 'externalId' | 'passwordHash' | 'passwordHashType'>> & {
  metadata?: Record<string, string | null>;
};

/** What the writer needs to decide what an incoming row still requires. */
export interface RowProgress {
  /** The position in the input of the row recorded under this key. */
  seq: number;
  state: RowState;
  errorClass: ErrorClass | null;
  payloadHash: string | null;
  workosUserId: string | null;
  pendingUpdate: UserChanges | null;
}

/** A row as `replay`, `ledger rows` and `ledger export` see it. */
export interface LedgerRow {
  key: string;
  seq: number;
  origin: Origin;
  /** The transformed user draft, password hash included. */
  payload: UserDraft | null;
  payloadHash: string | null;
  state: RowState;
  /** How many runs took the row up. */
  attempts: number;
  workosUserId: string | null;
  error: RowError | null;
  issues: Issue[];
  createdAt: string;
  updatedAt: string;
}

/** A row about to be written: stored with state `in_flight`, or `invalid` with its issues. */
export interface RowRecord {
  key: string;
  seq: number;
  origin: Origin;
  payload: string;
  payloadHash: string;
  issues: Issue[];
  pendingUpdate: UserChanges | null;
}

export interface MembershipRecord {
  roles: string[];
  state: 'done' | 'failed';
  workosMembershipId: string | null;
}

export interface FactorRecord {
  state: 'in_flight' | 'done' | 'failed';
  workosFactorId: string | null;
  /**
   * A SHA-256 of the source's secret the factor stands for: the one enrolled, or the one the source had when the
   * factor was found in WorkOS; null in ledgers of versions that kept none for found factors.
   */
  secretHash: string | null;
}

export interface OrgRecord {
  workosOrgId: string;
  name: string | null;
}

/** A WorkOS call's budget: writes and reads are spent apart. */
export type CallKind = 'read' | 'write';

/** How a run reached WorkOS, for verbs that work from the ledger alone. Never the API key. */
export interface SinkSettings {
  sink: string;
  baseUrl: string;
  rate: string;
  readRate: string;
  concurrency: number;
  retries: number;
  timeout?: number;
  /** Imported TOTP factors show it in authenticator apps: a replay must enrol its factors under the same one. */
  totpIssuer?: string;
}

export interface LedgerStatus {
  rows: number;
  byState: Record<RowState, number>;
  byErrorClass: Record<ErrorClass, number>;
  /** Failed and invalid rows by error code, most frequent first. */
  byErrorCode: { errorClass: ErrorClass; code: string; rows: number }[];
  orgs: number;
  memberships: { done: number; failed: number };
  factors: { inFlight: number; done: number; failed: number };
  runs: number;
}

export interface RowFilter {
  states?: readonly RowState[];
  errorClass?: ErrorClass;
}

interface StoredRow {
  key: string;
  seq: number;
  origin: string;
  payload: string | null;
  payload_hash: string | null;
  state: RowState;
  attempts: number;
  workos_user_id: string | null;
  error_class: ErrorClass | null;
  error_code: string | null;
  error_message: string | null;
  issues: string | null;
  created_at: string;
  updated_at: string;
}

/** The file's own path, through any link to it or to a folder above it: one ledger has one lock, whatever it is called. */
function realPathOf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.join(realpathSync(path.dirname(file)), path.basename(file));
  }
}

/** Results wait at most this long for the next commit; marks that must be durable are committed at once. */
const FLUSH_DELAY_MS = 4;
/** How often a run notes that it sends calls: a call sent less than this after the last one noted is not. */
const CALL_NOTED_EVERY_MS = 100;
/** A batch is committed early once this many writes wait. */
const MAX_BATCH = 512;
const PAGE_SIZE = 500;
/** Recorded calls between two deletions of the ones older than a window. */
const CALLS_PER_PRUNE = 256;

const json = (value: unknown) => JSON.stringify(value);
const jsonOrNull = (value: unknown) => (value === null ? null : JSON.stringify(value));
const issuesText = (issues: Issue[]) => (issues.length === 0 ? null : JSON.stringify(issues));

const SQLITE_HEADER = Buffer.from('SQLite format 3\0');

/**
 * An SQLite failure of the ledger said with the file it concerns and what to do: SQLite's own words name neither. Any
 * other error is returned as it is.
 */
function ledgerFailure(file: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const reason = `${(error as Error).message} [${code}]`;
  if (code === 'SQLITE_FULL') {
    return new AuthpipeError('ledger.disk_full', `cannot write ledger ${file}: the disk is full (${reason}); free some space and run again: what was committed is kept, and rows in flight are looked up before anything is sent again`);
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new AuthpipeError('ledger.damaged', `ledger ${file} is damaged (${reason}): restore it from a copy; a new ledger would find the users already written as existing users in WorkOS`);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_PERM') {
    return new AuthpipeError('ledger.unwritable', `cannot read or write ledger ${file} (${reason}): check the file, its folder and their permissions`);
  }
  return error;
}

function notALedger(file: string, what: string): UsageError {
  return new UsageError('ledger.not_a_ledger', `${file} is not an authpipe ledger (${what})`);
}

/**
 * Refuses an existing file that is not an SQLite database before anything touches it: a mistyped --ledger pointing
 * at an export would otherwise have its permissions changed and meet an SQLite error that names no file.
 */
function checkLedgerFile(file: string): void {
  if (!existsSync(file)) return;
  if (statSync(file).isDirectory()) throw notALedger(file, 'it is a folder');
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const descriptor = openSync(file, 'r');
  try {
    const read = readSync(descriptor, header, 0, header.length, 0);
    if (read > 0 && !header.subarray(0, read).equals(SQLITE_HEADER.subarray(0, read))) throw notALedger(file, 'not an SQLite database');
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Why the database is not a ledger, or undefined when it is one (or, `emptyIsNew`, an empty file to become one). An
 * SQLite database of another program has tables but no ledger schema: migrating it would write into it.
 */
function schemaProblem(db: Database.Database, emptyIsNew: boolean): string | undefined {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  if (tables.includes('schema_migrations')) return undefined;
  if (tables.length > 0) return 'an SQLite database without the ledger tables';
  return emptyIsNew ? undefined : 'an empty file';
}

/** Opened files keep their permissions, so a ledger created by an older tool is tightened as well. */
function createPrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/** The columns a claimed or invalid row stores from its record. */
function rowParameters(row: RowRecord) {
  return {
    key: row.key,
    seq: row.seq,
    origin: json(row.origin),
    payload: row.payload,
    payloadHash: row.payloadHash,
    issues: issuesText(row.issues),
    pendingUpdate: jsonOrNull(row.pendingUpdate),
  };
}

function toLedgerRow(row: StoredRow): LedgerRow {
  return {
    key: row.key,
    seq: row.seq,
    origin: JSON.parse(row.origin) as Origin,
    payload: row.payload === null ? null : (JSON.parse(row.payload) as UserDraft),
    payloadHash: row.payload_hash,
    state: row.state,
    attempts: row.attempts,
    workosUserId: row.workos_user_id,
    error: row.error_class === null ? null : { errorClass: row.error_class, code: row.error_code ?? '', message: row.error_message ?? '' },
    issues: row.issues === null ? [] : (JSON.parse(row.issues) as Issue[]),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface OpenOptions {
  /** Read without taking the lock or creating anything (status, dry runs); the file must exist. */
  readonly?: boolean;
}

export class Ledger {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly lock: LedgerLock | null;
  private readonly statements: ReturnType<typeof prepare>;
  private readonly commitBatch: (writes: (() => void)[]) => void;
  /** Writes waiting for the next commit, and the row keys they touch (reads of those keys commit first). */
  private queued: (() => void)[] = [];
  private readonly queuedKeys = new Set<string>();
  private durableWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushSoon: NodeJS.Immediate | null = null;
  private failure: unknown = null;
  /** The timestamp of every write in the batch being committed. */
  private batchTime = '';
  /** When the run writing now started (startRun): rows no write of it touched were updated before. */
  private runStartedAt: string | undefined;
  /** The run this process started, whose calls it notes (callSent). */
  private runId: number | undefined;
  private lastCallNotedAt = 0;
  private readonly callsSincePrune: Record<CallKind, number> = { read: 0, write: 0 };

  constructor(file: string, options: OpenOptions = {}) {
    this.file = path.resolve(file);
    if (options.readonly) {
      if (!existsSync(this.file)) throw new UsageError('ledger.missing', `ledger ${file} does not exist`);
      checkLedgerFile(this.file);
      this.lock = null;
      this.db = new Database(this.file, { readonly: true, fileMustExist: true });
      const problem = schemaProblem(this.db, false);
      if (problem !== undefined) {
        this.db.close();
        throw notALedger(file, problem);
      }
    } else {
      checkLedgerFile(this.file);
      if (existsSync(this.file)) {
        // Looked into before its permissions are tightened: another program's database is refused untouched.
        const existing = new Database(this.file, { readonly: true, fileMustExist: true });
        const problem = schemaProblem(existing, true);
        existing.close();
        if (problem !== undefined) throw notALedger(file, problem);
      }
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.lock = lockLedger(realPathOf(this.file));
      try {
        createPrivateFile(this.file);
        this.db = new Database(this.file);
        this.db.pragma('journal_mode = WAL');
        // NORMAL in WAL mode: a commit survives a crash of this process; only an OS crash may undo the last ones.
        this.db.pragma('synchronous = NORMAL');
        migrate(this.db, file);
      } catch (error) {
        this.lock.release();
        throw error;
      }
    }
    this.db.pragma('busy_timeout = 5000');
    this.statements = prepare(this.db);
    this.commitBatch = this.db.transaction((writes: (() => void)[]) => {
      for (const write of writes) write();
    });
  }

  // ---- reads ----

  progress(key: string): RowProgress | undefined {
    this.commitIfQueued(key);
    const row = this.statements.progress.get(key) as
      | { seq: number; state: RowState; error_class: ErrorClass | null; payload_hash: string | null; workos_user_id: string | null; pending_update: string | null }
      | undefined;
    if (row === undefined) return undefined;
    return {
      seq: row.seq,
      state: row.state,
      errorClass: row.error_class,
      payloadHash: row.payload_hash,
      workosUserId: row.workos_user_id,
      pendingUpdate: row.pending_update === null ? null : (JSON.parse(row.pending_update) as UserChanges),
    };
  }

  storedPayload(key: string): UserDraft | undefined {
    this.commitIfQueued(key);
    const row = this.statements.payload.get(key) as { payload: string | null } | undefined;
    return row?.payload == null ? undefined : (JSON.parse(row.payload) as UserDraft);
  }

  membership(userKey: string, orgKey: string): MembershipRecord | undefined {
    this.commitIfQueued(userKey);
    const row = this.statements.membership.get(userKey, orgKey) as { roles: string; state: 'done' | 'failed'; workos_membership_id: string | null } | undefined;
    return row && { roles: JSON.parse(row.roles) as string[], state: row.state, workosMembershipId: row.workos_membership_id };
  }

  /** The organizations (their keys) the writer made or found a membership of the user in. */
  membershipOrgs(userKey: string): string[] {
    this.commitIfQueued(userKey);
    return this.statements.membershipOrgs.all(userKey) as string[];
  }

  factor(userKey: string): FactorRecord | undefined {
    this.commitIfQueued(userKey);
    const row = this.statements.factor.get(userKey) as { state: FactorRecord['state']; workos_factor_id: string | null; secret_hash: string | null } | undefined;
    return row && { state: row.state, workosFactorId: row.workos_factor_id, secretHash: row.secret_hash };
  }

  org(orgKey: string): OrgRecord | undefined {
    const row = this.statements.org.get(orgKey) as { workos_org_id: string; name: string | null } | undefined;
    return row && { workosOrgId: row.workos_org_id, name: row.name };
  }

  /**
   * Rows in key order, read a page at a time: the ledger may be written between two pages. Each page goes on along
   * the key from where the last one ended, filtering as it goes (the `+` keeps SQLite off the state index, from which
   * every page sorted all the matching rows after it by key: 100k failed rows took minutes to list).
   */
  *rows(filter: RowFilter = {}): Generator<LedgerRow> {
    this.commitQueued();
    const conditions = ['key > ?'];
    const values: string[] = [];
    if (filter.states !== undefined) {
      conditions.push(`+state IN (${filter.states.map(() => '?').join(', ')})`);
      values.push(...filter.states);
    }
    if (filter.errorClass !== undefined) {
      conditions.push('+error_class = ?');
      values.push(filter.errorClass);
    }
    const page = this.db.prepare(`SELECT * FROM rows WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ${PAGE_SIZE}`);
    let after = '';
    for (;;) {
      const rows = page.all(after, ...values) as StoredRow[];
      for (const row of rows) yield toLedgerRow(row);
      if (rows.length < PAGE_SIZE) return;
      after = (rows[rows.length - 1] as StoredRow).key;
    }
  }

  /** Whether the last run ended (it may have been interrupted, or failed, but it was not killed or still going). */
  lastRunEnded(): boolean {
    const last = this.lastRun();
    return last === undefined || last.ended_at !== null;
  }

  private lastRun(): { started_at: string; ended_at: string | null; sink_settings: string; last_call_at: number | null } | undefined {
    // A ledger of an older schema opened to read has no last_call_at.
    const lastCallAt = hasColumn(this.db, 'runs', 'last_call_at') ? 'last_call_at' : 'NULL AS last_call_at';
    return this.db.prepare(`SELECT started_at, ended_at, sink_settings, ${lastCallAt} FROM runs ORDER BY id DESC LIMIT 1`).get() as
      | { started_at: string; ended_at: string | null; sink_settings: string; last_call_at: number | null }
      | undefined;
  }

  status(): LedgerStatus {
    this.commitQueued();
    const count = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    const byState = Object.fromEntries(ROW_STATES.map((state) => [state, 0])) as Record<RowState, number>;
    for (const { state, n } of this.db.prepare('SELECT state, count(*) AS n FROM rows GROUP BY state').all() as { state: RowState; n: number }[]) {
      byState[state] = n;
    }
    const byErrorClass = Object.fromEntries(ERROR_CLASSES.map((errorClass) => [errorClass, 0])) as Record<ErrorClass, number>;
    const byErrorCode: LedgerStatus['byErrorCode'] = [];
    const codes = this.db
      .prepare(
        `SELECT error_class AS errorClass, error_code AS code, count(*) AS n FROM rows WHERE state IN ('failed', 'invalid')
         GROUP BY error_class, error_code ORDER BY n DESC, error_code`,
      )
      .all() as { errorClass: ErrorClass; code: string | null; n: number }[];
    for (const { errorClass, code, n } of codes) {
      byErrorClass[errorClass] += n;
      byErrorCode.push({ errorClass, code: code ?? '', rows: n });
    }
    const memberships = this.db.prepare("SELECT count(*) FILTER (WHERE state = 'done') AS done, count(*) FILTER (WHERE state = 'failed') AS failed FROM memberships").get() as {
      done: number;
      failed: number;
    };
    const factors = this.db
      .prepare("SELECT count(*) FILTER (WHERE state = 'in_flight') AS inFlight, count(*) FILTER (WHERE state = 'done') AS done, count(*) FILTER (WHERE state = 'failed') AS failed FROM factors")
      .get() as LedgerStatus['factors'];
    return {
      rows: Object.values(byState).reduce((sum, n) => sum + n, 0),
      byState,
      byErrorClass,
      byErrorCode,
      orgs: count('SELECT count(*) AS n FROM orgs'),
      memberships,
      factors,
      runs: count('SELECT count(*) AS n FROM runs'),
    };
  }

  /**
   * When the calls of `kind` to `server` answered since `since` (ms since the epoch) were answered, oldest first, and
   * whether the run that made the last of them ended without finishing (killed), so calls it had in flight went
   * unrecorded. Older calls of `kind` are deleted: they bind no window.
   */
  recentCalls(kind: CallKind, server: string, since: number): { answeredAt: number[]; unfinishedRun: SinkSettings | undefined } {
    this.commitQueued();
    this.statements.pruneCalls.run(kind, since);
    const answeredAt = (this.statements.recentCalls.all(kind, server, since) as { answered_at: number }[]).map((call) => call.answered_at);
    const last = this.lastRun();
    // A run that did not end may have had calls in flight when it stopped, if it sent one within the window (a server
    // slower than a window answers none in it), or started in it (before it noted a call).
    const recent = last !== undefined && ((last.last_call_at ?? 0) > since || Date.parse(last.started_at) > since);
    const unfinishedRun = last !== undefined && last.ended_at === null && recent ? (JSON.parse(last.sink_settings) as SinkSettings) : undefined;
    return { answeredAt, unfinishedRun };
  }

  /** Records that a call of `kind` to `server` was answered at `at`; calls answered more than `keepMs` before it are deleted. */
  callAnswered(kind: CallKind, server: string, at: number, keepMs: number): void {
    this.enqueue(null, () => {
      this.statements.callAnswered.run(kind, server, at);
      // A run makes millions of calls; the table keeps about one window's worth of each kind.
      this.callsSincePrune[kind]++;
      if (this.callsSincePrune[kind] >= CALLS_PER_PRUNE) {
        this.callsSincePrune[kind] = 0;
        this.statements.pruneCalls.run(kind, at - keepMs);
      }
    });
  }

  /** The process writing this ledger now, if another one is (for a reader: its in-flight rows are live). */
  activeWriter(): LockOwner | null {
    return activeOwnerOf(realPathOf(this.file));
  }

  /**
   * The WorkOS ids of the users of the ledger's last rows (by their place in the input, last first), or of its first
   * rows: rows are written in that order. Read along the state index (a done row has no error class), a few entries
   * at most: sorted by time, every run on a million-row ledger spent 30 s reading the whole table first.
   */
  writtenUsers(limit: number, which: 'last' | 'first'): string[] {
    return this.db
      .prepare(`SELECT workos_user_id FROM rows WHERE state = 'done' AND error_class IS NULL AND workos_user_id IS NOT NULL ORDER BY seq ${which === 'last' ? 'DESC' : 'ASC'} LIMIT ?`)
      .pluck()
      .all(limit) as string[];
  }

  /** The sink settings the last run recorded, if any run did. */
  lastSinkSettings(): SinkSettings | undefined {
    const last = this.lastRun();
    return last && (JSON.parse(last.sink_settings) as SinkSettings);
  }

  // ---- writes that must be durable before the call they announce ----

  /** Marks the row `in_flight` with its payload; resolves once committed, so its create call may be sent. */
  claim(row: RowRecord): Promise<void> {
    this.enqueue(row.key, () => this.statements.claim.run({ ...rowParameters(row), at: this.batchTime }));
    return this.durable();
  }

  /** Marks the user's TOTP enrolment `in_flight`; resolves once committed. */
  /** `secretHash`: of the secret about to be sent, which the factor has if the enrolment lands unanswered. */
  claimFactor(userKey: string, secretHash: string): Promise<void> {
    this.enqueue(userKey, () =>
      this.statements.factorState.run({ userKey, state: 'in_flight', factorId: null, secretHash, errorClass: null, code: null, message: null, at: this.batchTime }),
    );
    return this.durable();
  }

  // ---- results: committed with the next batch ----

  /** The row's WorkOS user, created, found or updated: nothing of the payload is left to send. */
  userWritten(key: string, userId: string): void {
    this.enqueue(key, () => this.statements.userWritten.run(userId, this.batchTime, key));
  }

  /** Everything of the row is in WorkOS: its user (recorded here too), memberships and factor. */
  rowDone(key: string, userId: string): void {
    this.enqueue(key, () => this.statements.rowDone.run(userId, this.batchTime, key));
  }

  rowFailed(key: string, error: RowError<CallErrorClass>): void {
    this.enqueue(key, () => this.statements.rowState.run({ key, state: 'failed', errorClass: error.errorClass, code: error.code, message: error.message, at: this.batchTime }));
  }

  /**
   * Forgets the row recorded under `key` (with its memberships and factor) when it is done with WorkOS user `userId`
   * and no write of this run touched it: another row now stands for that user.
   */
  formerRecordRetired(key: string, userId: string): void {
    const since = this.runStartedAt;
    if (since === undefined) return;
    this.enqueue(key, () => {
      if (this.statements.retireRow.run({ key, userId, since }).changes === 0) return;
      this.statements.forgetMemberships.run(key);
      this.statements.forgetFactor.run(key);
    });
  }

  /** The invalid row recorded under `key` goes to `toKey` (its position key): another row of the input takes the key. */
  invalidMoved(key: string, toKey: string): void {
    this.enqueue(key, () => this.statements.moveInvalid.run(toKey, key));
  }

  /**
   * A diff found a `done` row short in WorkOS: it becomes failed/retryable, so the next run or a replay takes it up
   * again. `lost`: WorkOS has no user with its id (looked up, else created, again); `changes`: the fields to update.
   */
  diffFound(key: string, error: RowError<'retryable'>, lost: boolean, changes: UserChanges | null): void {
    this.enqueue(key, () =>
      this.statements.diffFound.run({ key, code: error.code, message: error.message, lost: lost ? 1 : 0, changes: jsonOrNull(changes), at: this.batchTime }),
    );
  }

  /** The run stopped before the row's create could have reached WorkOS. */
  rowReleased(key: string): void {
    this.enqueue(key, () => this.statements.rowState.run({ key, state: 'pending', errorClass: null, code: null, message: null, at: this.batchTime }));
  }

  /**
   * Records a row refused before any call. A row with the same key that already has a WorkOS user (a duplicate later
   * in the source, or this row gone bad since) keeps what was written: its payload is what WorkOS holds.
   */
  recordInvalid(row: RowRecord): void {
    const first = row.issues.find((issue) => issue.level === 'error');
    this.enqueue(row.key, () =>
      this.statements.invalid.run({
        ...rowParameters(row),
        code: first?.code ?? null,
        message: first?.message ?? null,
        at: this.batchTime,
      }),
    );
  }

  /**
   * A valid row now at this position of the same input replaces what an earlier run recorded invalid there, keyed
   * by position (a duplicate, or a row with neither email nor external id, since fixed): it would otherwise count,
   * and be replayed, as invalid for good.
   */
  supersedeInvalidAt(seq: number, origin: Origin): void {
    const key = positionKey(seq);
    this.enqueue(key, () => this.statements.supersedeInvalid.run(key, origin.file ?? null));
  }

  orgResolved(orgKey: string, org: OrgRecord): void {
    this.enqueue(null, () => this.statements.orgResolved.run(orgKey, org.workosOrgId, org.name, this.batchTime));
  }

  membershipDone(userKey: string, orgKey: string, roles: string[], membershipId: string | null): void {
    this.enqueue(userKey, () =>
      this.statements.membershipState.run({ userKey, orgKey, roles: json(roles), state: 'done', membershipId, errorClass: null, code: null, message: null, at: this.batchTime }),
    );
  }

  membershipFailed(userKey: string, orgKey: string, roles: string[], error: RowError<CallErrorClass>): void {
    this.enqueue(userKey, () =>
      this.statements.membershipState.run({
        userKey,
        orgKey,
        roles: json(roles),
        state: 'failed',
        membershipId: null,
        errorClass: error.errorClass,
        code: error.code,
        message: error.message,
        at: this.batchTime,
      }),
    );
  }

  /** `secretHash`: of the source's secret the factor stands for (see FactorRecord). */
  factorDone(userKey: string, factorId: string, secretHash: string): void {
    this.enqueue(userKey, () => this.statements.factorState.run({ userKey, state: 'done', factorId, secretHash, errorClass: null, code: null, message: null, at: this.batchTime }));
  }

  /** `secretHash`: of the secret the failed enrolment sent, if one was sent (it may have landed all the same). */
  factorFailed(userKey: string, error: RowError<CallErrorClass>, secretHash: string | null): void {
    this.enqueue(userKey, () =>
      this.statements.factorState.run({ userKey, state: 'failed', factorId: null, secretHash, errorClass: error.errorClass, code: error.code, message: error.message, at: this.batchTime }),
    );
  }

  // ---- runs ----

  startRun(settings: SinkSettings, pipelineHash: string | null = null): number {
    this.commitQueued();
    this.runStartedAt = new Date().toISOString();
    this.runId = Number(this.statements.startRun.run(this.runStartedAt, pipelineHash, json(settings)).lastInsertRowid);
    return this.runId;
  }

  /** Notes that this run sends a call now, a few times a second at most: see recentCalls. */
  callSent(at: number): void {
    if (this.runId === undefined || at - this.lastCallNotedAt < CALL_NOTED_EVERY_MS) return;
    this.lastCallNotedAt = at;
    const runId = this.runId;
    this.enqueue(null, () => this.statements.callSent.run(at, runId));
  }

  finishRun(runId: number, counts: Record<string, number>): void {
    this.commitQueued();
    this.statements.finishRun.run(new Date().toISOString(), json(counts), runId);
  }

  /** Commits every waiting write now. */
  commitQueued(): void {
    if (this.failure !== null) throw this.failure;
    this.cancelScheduledFlush();
    if (this.queued.length === 0 && this.durableWaiters.length === 0) return;
    const writes = this.queued;
    const waiters = this.durableWaiters;
    this.queued = [];
    this.durableWaiters = [];
    this.queuedKeys.clear();
    try {
      this.batchTime = new Date().toISOString();
      this.commitBatch(writes);
    } catch (error) {
      // A full disk, a damaged file, or our bug (a constraint): nothing more may be written, and every waiting caller
      // learns it.
      const failure = ledgerFailure(this.file, error);
      this.failure = failure;
      for (const waiter of waiters) waiter.reject(failure);
      throw failure;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  close(): void {
    try {
      if (this.failure === null && !this.db.readonly) this.commitQueued();
    } finally {
      this.cancelScheduledFlush();
      this.db.close();
      this.lock?.release();
    }
  }

  private enqueue(key: string | null, write: () => void): void {
    if (this.failure !== null) throw this.failure;
    this.queued.push(write);
    if (key !== null) this.queuedKeys.add(key);
    if (this.queued.length >= MAX_BATCH) this.scheduleFlush(true);
    else if (this.flushTimer === null && this.flushSoon === null) this.flushTimer = setTimeout(() => this.flushInBackground(), FLUSH_DELAY_MS);
  }

  /** Marks queued in the same turn of the event loop share one commit. */
  private durable(): Promise<void> {
    this.scheduleFlush(false);
    return new Promise((resolve, reject) => this.durableWaiters.push({ resolve, reject }));
  }

  private scheduleFlush(now: boolean): void {
    if (now) {
      this.flushInBackground();
      return;
    }
    if (this.flushSoon !== null) return;
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    this.flushSoon = setImmediate(() => this.flushInBackground());
  }

  private flushInBackground(): void {
    try {
      this.commitQueued();
    } catch {
      // Kept in `failure`: rejected waiters and the next ledger call report it.
    }
  }

  private commitIfQueued(key: string): void {
    if (this.queuedKeys.has(key)) this.commitQueued();
  }

  private cancelScheduledFlush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.flushSoon !== null) clearImmediate(this.flushSoon);
    this.flushTimer = null;
    this.flushSoon = null;
  }
}

/**
 * Statements are compiled when first used: a read-only open of a ledger from an older authpipe (which is not brought
 * forward, as nothing may be written) must not compile those naming its newer tables and columns.
 */
function lazily<T extends Record<string, () => Database.Statement>>(makers: T): { readonly [K in keyof T]: Database.Statement } {
  const statements = {} as { [K in keyof T]: Database.Statement };
  for (const name of Object.keys(makers) as (keyof T)[]) {
    let compiled: Database.Statement | undefined;
    Object.defineProperty(statements, name, { get: () => (compiled ??= makers[name]()) });
  }
  return statements;
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]).includes(column);
}

function prepare(db: Database.Database) {
  return lazily({
    progress: () => db.prepare('SELECT seq, state, error_class, payload_hash, workos_user_id, pending_update FROM rows WHERE key = ?'),
    moveInvalid: () => db.prepare("UPDATE OR REPLACE rows SET key = ? WHERE key = ? AND state = 'invalid'"),
    retireRow: () => db.prepare("DELETE FROM rows WHERE key = @key AND state = 'done' AND workos_user_id = @userId AND updated_at < @since"),
    forgetMemberships: () => db.prepare('DELETE FROM memberships WHERE user_key = ?'),
    forgetFactor: () => db.prepare('DELETE FROM factors WHERE user_key = ?'),
    payload: () => db.prepare('SELECT payload FROM rows WHERE key = ?'),
    membership: () => db.prepare('SELECT roles, state, workos_membership_id FROM memberships WHERE user_key = ? AND org_key = ?'),
    membershipOrgs: () => db.prepare("SELECT org_key FROM memberships WHERE user_key = ? AND state = 'done' ORDER BY org_key").pluck(),
    factor: () => db.prepare(`SELECT state, workos_factor_id, ${hasColumn(db, 'factors', 'secret_hash') ? 'secret_hash' : 'NULL AS secret_hash'} FROM factors WHERE user_key = ?`),
    org: () => db.prepare('SELECT workos_org_id, name FROM orgs WHERE key = ?'),
    claim: () => db.prepare(
      `INSERT INTO rows (key, seq, origin, payload, payload_hash, state, attempts, pending_update, issues, created_at, updated_at)
       VALUES (@key, @seq, @origin, @payload, @payloadHash, 'in_flight', 1, @pendingUpdate, @issues, @at, @at)
       ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, origin = excluded.origin, payload = excluded.payload,
         payload_hash = excluded.payload_hash, state = 'in_flight', attempts = attempts + 1, pending_update = excluded.pending_update,
         issues = excluded.issues, error_class = NULL, error_code = NULL, error_message = NULL, updated_at = excluded.updated_at`,
    ),
    invalid: () => db.prepare(
      `INSERT INTO rows (key, seq, origin, payload, payload_hash, state, pending_update, error_class, error_code, error_message, issues, created_at, updated_at)
       VALUES (@key, @seq, @origin, @payload, @payloadHash, 'invalid', @pendingUpdate, 'invalid', @code, @message, @issues, @at, @at)
       ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, origin = excluded.origin, payload = excluded.payload,
         payload_hash = excluded.payload_hash, state = 'invalid', pending_update = excluded.pending_update, error_class = 'invalid',
         error_code = excluded.error_code, error_message = excluded.error_message, issues = excluded.issues, updated_at = excluded.updated_at
       WHERE rows.workos_user_id IS NULL`,
    ),
    supersedeInvalid: () => db.prepare("DELETE FROM rows WHERE key = ? AND state = 'invalid' AND workos_user_id IS NULL AND json_extract(origin, '$.file') IS ?"),
    userWritten: () => db.prepare('UPDATE rows SET workos_user_id = ?, pending_update = NULL, updated_at = ? WHERE key = ?'),
    rowDone: () => db.prepare(
      "UPDATE rows SET state = 'done', workos_user_id = ?, pending_update = NULL, error_class = NULL, error_code = NULL, error_message = NULL, updated_at = ? WHERE key = ?",
    ),
    diffFound: () => db.prepare(
      `UPDATE rows SET state = 'failed', error_class = 'retryable', error_code = @code, error_message = @message,
         workos_user_id = CASE WHEN @lost THEN NULL ELSE workos_user_id END, pending_update = @changes, updated_at = @at
       WHERE key = @key AND state = 'done'`,
    ),
    rowState: () => db.prepare('UPDATE rows SET state = @state, error_class = @errorClass, error_code = @code, error_message = @message, updated_at = @at WHERE key = @key'),
    orgResolved: () => db.prepare(
      'INSERT INTO orgs (key, workos_org_id, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET workos_org_id = excluded.workos_org_id, name = excluded.name',
    ),
    membershipState: () => db.prepare(
      `INSERT INTO memberships (user_key, org_key, roles, state, workos_membership_id, error_class, error_code, error_message, updated_at)
       VALUES (@userKey, @orgKey, @roles, @state, @membershipId, @errorClass, @code, @message, @at)
       ON CONFLICT (user_key, org_key) DO UPDATE SET roles = excluded.roles, state = excluded.state,
         workos_membership_id = coalesce(excluded.workos_membership_id, workos_membership_id), error_class = excluded.error_class,
         error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
    ),
    factorState: () => db.prepare(
      `INSERT INTO factors (user_key, state, workos_factor_id, secret_hash, error_class, error_code, error_message, updated_at)
       VALUES (@userKey, @state, @factorId, @secretHash, @errorClass, @code, @message, @at)
       ON CONFLICT (user_key) DO UPDATE SET state = excluded.state, workos_factor_id = excluded.workos_factor_id, secret_hash = excluded.secret_hash,
         error_class = excluded.error_class, error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
    ),
    startRun: () => db.prepare('INSERT INTO runs (started_at, pipeline_hash, sink_settings) VALUES (?, ?, ?)'),
    recentCalls: () => db.prepare('SELECT answered_at FROM calls WHERE kind = ? AND server = ? AND answered_at > ? ORDER BY answered_at'),
    callAnswered: () => db.prepare('INSERT INTO calls (kind, server, answered_at) VALUES (?, ?, ?)'),
    pruneCalls: () => db.prepare('DELETE FROM calls WHERE kind = ? AND answered_at < ?'),
    finishRun: () => db.prepare('UPDATE runs SET ended_at = ?, counts = ? WHERE id = ?'),
    callSent: () => db.prepare('UPDATE runs SET last_call_at = ? WHERE id = ?'),
  });
}

/** Opens (creating it with mode 0600 if needed) and locks the ledger at `file`, bringing its schema up to date. */
export function openLedger(file: string, options: OpenOptions = {}): Ledger {
  try {
    return new Ledger(file, options);
  } catch (error) {
    throw ledgerFailure(path.resolve(file), error);
  }
}
