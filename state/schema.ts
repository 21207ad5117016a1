// The ledger's tables, as numbered migrations. A ledger records which ones it has in schema_migrations;
// opening it applies the missing ones in order, each in its own transaction, so a ledger from an older
// authpipe is brought forward and one from a newer authpipe is refused rather than misread.
import type { Database } from 'better-sqlite3';
import { AuthpipeError } from '../pipelines/errors.ts';

export const ROW_STATES = ['pending', 'in_flight', 'done', 'failed', 'invalid', 'skipped'] as const;
export const ERROR_CLASSES = ['retryable', 'permanent', 'invalid'] as const;

const sqlList = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

const MIGRATIONS: readonly string[] = [
  `
  -- One row per source identity (envelope key). payload is the transformed user draft, password hash
  -- included: it is what replay re-sends, and the only place a hash is kept. pending_update holds the
  -- user fields WorkOS does not have yet (an update that has not succeeded), as updateUser options.
  CREATE TABLE rows (
    key            TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL,
    origin         TEXT NOT NULL,
    payload_hash   TEXT,
    payload        TEXT,
    state          TEXT NOT NULL CHECK (state IN (${sqlList(ROW_STATES)})),
    attempts       INTEGER NOT NULL DEFAULT 0,
    workos_user_id TEXT,
    pending_update TEXT,
    error_class    TEXT CHECK (error_class IN (${sqlList(ERROR_CLASSES)})),
    error_code     TEXT,
    error_message  TEXT,
    issues         TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX rows_by_state ON rows (state, error_class, seq);

  -- Organizations resolved once for every row and every run: source org key -> WorkOS id.
  CREATE TABLE orgs (
    key           TEXT PRIMARY KEY,
    workos_org_id TEXT NOT NULL,
    name          TEXT,
    created_at    TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE memberships (
    user_key             TEXT NOT NULL,
    org_key              TEXT NOT NULL,
    roles                TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('done', 'failed')),
    workos_membership_id TEXT,
    error_class          TEXT CHECK (error_class IN ('retryable', 'permanent')),
    error_code           TEXT,
    error_message        TEXT,
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (user_key, org_key)
  ) WITHOUT ROWID;

  -- TOTP enrolment is not idempotent: in_flight is committed before the call, like a user create.
  CREATE TABLE factors (
    user_key         TEXT PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN ('in_flight', 'done', 'failed')),
    workos_factor_id TEXT,
    error_class      TEXT CHECK (error_class IN ('retryable', 'permanent')),
    error_code       TEXT,
    error_message    TEXT,
    updated_at       TEXT NOT NULL
  ) WITHOUT ROWID;

  -- sink_settings never holds the API key.
  CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    pipeline_hash TEXT,
    sink_settings TEXT NOT NULL,
    counts        TEXT
  );
  `,
  `
  -- When each WorkOS call of the recent past was answered (ms since the epoch), by budget and server (its base URL): a
  -- run that starts right after another (a resume after kill -9) spends what is left of the budget in the window the
  -- two share, not a fresh one. Kept for one window of the budget, then deleted.
  CREATE TABLE calls (
    kind        TEXT NOT NULL CHECK (kind IN ('read', 'write')),
    server      TEXT NOT NULL,
    answered_at INTEGER NOT NULL
  );
  CREATE INDEX calls_by_time ON calls (kind, answered_at);
  `,
  `
  -- Which secret a factor was enrolled with (a SHA-256 of it, null when the factor was found, not enrolled): a source
  -- secret that changed since (a user who set up their authenticator again) must not pass for the one WorkOS holds.
  ALTER TABLE factors ADD COLUMN secret_hash TEXT;
  `,
  `
  -- When the run last sent a WorkOS call (ms since the epoch, noted a few times a second): the calls a killed run had in
  -- flight count against the budget of the run after it while this is within a window, answered or not.
  ALTER TABLE runs ADD COLUMN last_call_at INTEGER;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the ledger to SCHEMA_VERSION; refuses a ledger written by a newer authpipe. */
export function migrate(db: Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const current = (db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new AuthpipeError(
      'ledger.too_new',
      `ledger ${file} has schema version ${current}, but this authpipe knows versions up to ${SCHEMA_VERSION}; use a newer authpipe`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  MIGRATIONS.slice(current).forEach((sql, index) => {
    db.transaction(() => {
      db.exec(sql);
      record.run(current + index + 1, new Date().toISOString());
    })();
  });
}
