// Envelopes rebuilt from the ledger, for `authpipe replay` (send failed rows again) and `--export` (hand them to
// a person to fix). What went wrong travels with each row as an issue: WorkOS's answer as `workos.<code>`, the
// validation findings of an invalid row with their own codes.
//
// An export keeps every finding as it was, for a person fixing the row, and WorkOS's last answer as a warning. A mark
// (NOT_VALIDATED) keeps the row from WorkOS until the validate stage has checked it again, which drops its own old
// findings with it; an error of a stage before (map, dedupe, the source) stays until the person removes it, since
// validate cannot check it again. Sent again as they are (replay), invalid rows keep their errors: the same payload
// would only be refused again, or worse, taken.
//
// Password hashes and TOTP secrets stay in the ledger: an envelope holds SECRET_IN_LEDGER in their place; when a row
// comes back to the workos writer with the same key, the writer takes the hash and the secret the ledger holds for it.
import type { Envelope, Issue, UserDraft } from '../pipelines/record.ts';
import type { ErrorClass, Ledger, LedgerRow, RowFilter } from './ledger.ts';

export const REPLAY_CLASSES = ['retryable', 'permanent', 'invalid', 'all'] as const satisfies readonly (ErrorClass | 'all')[];
export type ReplayClass = (typeof REPLAY_CLASSES)[number];

/**
 * Rows an interrupted run (or replay) left behind come first: they were claimed and never answered, so they are to be
 * sent again like any retryable failure (the writer looks up an in-flight row before sending it). Read before the
 * failed rows, which this replay's own writer puts in flight as it goes.
 */
const LEFT_IN_FLIGHT: RowFilter = { states: ['in_flight', 'pending'] };

const FILTERS: Record<ReplayClass, readonly RowFilter[]> = {
  retryable: [LEFT_IN_FLIGHT, { states: ['failed'], errorClass: 'retryable' }],
  permanent: [{ states: ['failed'], errorClass: 'permanent' }],
  invalid: [{ states: ['invalid'] }],
  all: [LEFT_IN_FLIGHT, { states: ['failed', 'invalid'] }],
};

/**
 * What an exported envelope holds for a password hash or a TOTP secret: it says there is one, for the writer to
 * restore, and for the validate stage to pass (a hash type with no hash would be an error).
 */
export const SECRET_IN_LEDGER = '[kept in the ledger]';

function userOf(row: LedgerRow): UserDraft {
  const user = row.payload ?? {};
  if (user.passwordHash === undefined && user.totpSecret === undefined) return user;
  const withoutSecrets = { ...user };
  if (user.passwordHash !== undefined) withoutSecrets.passwordHash = SECRET_IN_LEDGER;
  if (user.totpSecret !== undefined) withoutSecrets.totpSecret = SECRET_IN_LEDGER;
  return withoutSecrets;
}

const WORKOS_STAGE = 'workos';

/**
 * The mark of an exported row: until the validate stage has checked it again (and dropped this and the findings of the
 * previous attempt), the workos sink leaves it alone. Written back as it is, a duplicate would reach WorkOS, be found
 * there as the user it duplicates, and give that user its names, password hash and memberships.
 */
export const NOT_VALIDATED: Issue = {
  stage: 'replay',
  code: 'replay.not_validated',
  level: 'warning',
  message: 'exported for fixing: put `authpipe validate` in the chain before `write workos`, which checks the row again',
};

export function isNotValidated(envelope: Envelope): boolean {
  return envelope.issues.some((issue) => issue.code === NOT_VALIDATED.code);
}

/** The row's own findings, and WorkOS's last answer; an answer of an earlier attempt, stored with a replayed row, is stale. */
function issuesOf(row: LedgerRow): Issue[] {
  const issues = row.issues.filter((issue) => issue.stage !== WORKOS_STAGE);
  if (row.state === 'failed' && row.error !== null) {
    issues.push({ stage: WORKOS_STAGE, code: `workos.${row.error.code}`, level: 'warning', message: `${row.error.errorClass}: ${row.error.message}` });
  }
  issues.push(NOT_VALIDATED);
  return issues;
}

/**
 * The row's own findings without what WorkOS answered the previous attempt, which is no finding of the next one. The
 * errors of an invalid row stay: it goes back to the writer as invalid, not to WorkOS.
 */
function ownFindingsOf(row: LedgerRow): Issue[] {
  return row.issues.filter((issue) => issue.stage !== WORKOS_STAGE && (issue.level === 'warning' || row.state === 'invalid'));
}

/**
 * The ledger's failed and/or invalid rows as envelopes, in key order, read a page at a time. With `findings`, each
 * carries what went wrong (for a person to fix); without, only its own findings (to be sent again).
 */
export function* replayEnvelopes(ledger: Ledger, replayClass: ReplayClass, findings: boolean): Generator<Envelope> {
  const issues = findings ? issuesOf : ownFindingsOf;
  // A row of an earlier pass that this replay failed again is a failed row by the next pass: it is not sent twice.
  const taken = new Set<string>();
  const filters = FILTERS[replayClass];
  for (const [pass, filter] of filters.entries()) {
    for (const row of ledger.rows(filter)) {
      if (taken.has(row.key)) continue;
      if (pass < filters.length - 1) taken.add(row.key);
      yield { seq: row.seq, key: row.key, origin: row.origin, user: userOf(row), issues: issues(row) };
    }
  }
}
