// What `authpipe ledger status|rows|export` print: counts for people, rows for tools, and the map from each
// source user to its WorkOS user id that an application needs to re-link its own data after the move.
// None of it carries a payload, so no password hash leaves the ledger this way.
import type { LedgerRow, LedgerStatus, RowState } from './ledger.ts';
import type { LockOwner } from './lock.ts';
import { counted } from '../pipelines/log.ts';

const STATE_ORDER: readonly RowState[] = ['done', 'failed', 'invalid', 'in_flight', 'pending', 'skipped'];

/** `writer`: the process writing the ledger now, if one is. */
export function statusText(file: string, status: LedgerStatus, writer: LockOwner | null): string {
  const lines = [`ledger ${file}: ${counted(status.rows, 'row')} over ${counted(status.runs, 'run')}`];
  for (const state of STATE_ORDER) {
    if (status.byState[state] > 0) lines.push(`  ${state.padEnd(9)} ${status.byState[state]}`);
  }
  if (status.byErrorCode.length > 0) {
    lines.push('failed and invalid rows by class and code:');
    for (const { errorClass, code, rows } of status.byErrorCode) lines.push(`  ${errorClass.padEnd(9)} ${code.padEnd(32)} ${rows}`);
  }
  const { memberships, factors } = status;
  lines.push(`organizations ${status.orgs}; memberships ${memberships.done} done, ${memberships.failed} failed; TOTP factors ${factors.done} done, ${factors.failed} failed`);
  if (writer !== null) lines.push(`a run is writing this ledger now (process ${writer.pid}, started ${writer.startedAt}): its rows in flight are being sent`);
  else if (status.byState.in_flight > 0) lines.push(`${status.byState.in_flight} rows were in flight when a run stopped: the next run looks each one up before sending it again`);
  if (status.byErrorClass.retryable > 0) lines.push(`send the retryable rows again: authpipe replay --ledger ${file} --class retryable`);
  return `${lines.join('\n')}\n`;
}

/** A ledger row as `ledger rows` prints it: where it came from, where it stands, what went wrong. */
export function rowRecord(row: LedgerRow) {
  return {
    key: row.key,
    seq: row.seq,
    origin: row.origin,
    state: row.state,
    attempts: row.attempts,
    workosUserId: row.workosUserId,
    error: row.error,
    issues: row.issues,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const ID_MAP_COLUMNS = ['key', 'email', 'external_id', 'workos_user_id', 'state'] as const;

/** One line of the id map: the source identity next to the WorkOS user it became (empty if none yet). */
export function idMapRecord(row: LedgerRow): Record<(typeof ID_MAP_COLUMNS)[number], string> {
  return {
    key: row.key,
    email: row.payload?.email ?? '',
    external_id: row.payload?.externalId ?? '',
    workos_user_id: row.workosUserId ?? '',
    state: row.state,
  };
}
