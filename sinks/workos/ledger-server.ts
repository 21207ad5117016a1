// A ledger belongs to the WorkOS environment its users were written to. Its `done` rows are skipped as written, so a
// ledger taken to another environment or server (the emulator tried first, then production; an emulator restarted
// empty) would skip every user and report success with nothing written there.
import { UsageError } from '../../pipelines/errors.ts';
import type { Logger } from '../../pipelines/log.ts';
import type { Ledger } from '../../state/ledger.ts';
import type { WorkosApi } from './api.ts';
import { isUserGone } from './users.ts';

/** Users of the ledger looked up: one found is enough (a few may have been deleted in WorkOS since). */
const USERS_LOOKED_UP = 3;

/** The WorkOS ids of the users the ledger wrote last and first, for checkLedgerServer; none for a new ledger. */
export interface WrittenUsers {
  last: string[];
  first: string[];
}

export function writtenUsers(ledger: Ledger): WrittenUsers {
  const last = ledger.writtenUsers(USERS_LOOKED_UP, 'last');
  return { last, first: ledger.writtenUsers(USERS_LOOKED_UP, 'first').filter((id) => !last.includes(id)) };
}

/** Whether the server holds one of `userIds` (true for none to look for); one read call per user looked up. */
async function holdsAny(api: WorkosApi, userIds: string[]): Promise<boolean> {
  for (const userId of userIds) if (!(await isUserGone(api, userId))) return true;
  return userIds.length === 0;
}

/**
 * Throws when the server holds none of the users the ledger wrote last. When it holds those but none of the ones it
 * wrote first, it lost users partway (an emulator restarted during a run, users deleted since): said, with the way to
 * find and send every one again.
 */
export async function checkLedgerServer(api: WorkosApi, ledger: Ledger, written: WrittenUsers, server: string, log: Logger): Promise<void> {
  if (!(await holdsAny(api, written.last))) {
    throw new UsageError(
      'workos.ledger_elsewhere',
      `the ledger ${ledger.file} records users written to WorkOS, but ${server} has none of the last ${written.last.length} it wrote (${written.last.join(', ')}): ` +
        'the ledger belongs to another WorkOS environment or server (an emulator that restarted empty?), and would skip every user as written. ' +
        'Give this server a ledger of its own (--ledger, or `ledger:` in the pipeline file)',
    );
  }
  if (!(await holdsAny(api, written.first))) {
    log.warn(
      `workos: ${server} holds the users the ledger ${ledger.file} wrote last, but none of the first ${written.first.length} (${written.first.join(', ')}): ` +
        `it lost users since they were written (deleted, or a server restarted during a run), and rows done are skipped. ` +
        `\`authpipe diff --ledger ${ledger.file}\` finds every one missing and marks it to be sent again`,
    );
  }
}
