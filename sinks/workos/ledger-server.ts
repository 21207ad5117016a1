// A ledger belongs to the WorkOS environment its users were written to. Its `done` rows are skipped as written, so a
// ledger taken to another environment or server (the emulator tried first, then production; an emulator restarted
// empty) would skip every user and report success with nothing written there.
import { UsageError } from '../../pipelines/errors.ts';
import type { Ledger } from '../../state/ledger.ts';
import type { WorkosApi } from './api.ts';
import { isNotFound } from './classify.ts';

/** Users of the ledger looked up: one found is enough (a few may have been deleted in WorkOS since). */
const USERS_LOOKED_UP = 3;

/** The WorkOS ids of the users the ledger wrote last, for checkLedgerServer; none for a new ledger. */
export function lastWrittenUsers(ledger: Ledger): string[] {
  return ledger.lastWrittenUsers(USERS_LOOKED_UP);
}

/** Throws when the server holds none of `userIds` (lastWrittenUsers); one read call per user looked up. */
export async function checkLedgerServer(api: WorkosApi, ledger: Ledger, userIds: string[], server: string): Promise<void> {
  for (const userId of userIds) {
    try {
      await api.idempotent('read', () => api.sdk.userManagement.getUser(userId));
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  if (userIds.length === 0) return;
  throw new UsageError(
    'workos.ledger_elsewhere',
    `the ledger ${ledger.file} records users written to WorkOS, but ${server} has none of the last ${userIds.length} it wrote (${userIds.join(', ')}): ` +
      'the ledger belongs to another WorkOS environment or server (an emulator that restarted empty?), and would skip every user as written. ' +
      'Give this server a ledger of its own (--ledger, or `ledger:` in the pipeline file)',
  );
}
