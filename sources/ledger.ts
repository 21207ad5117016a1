// The failed and invalid rows of a ledger, as envelopes: what `authpipe replay` sends again and what
// `replay --export` hands to a person to fix. The ledger is opened read-only, so it may be read while a run
// (or the replay's own writer) writes to it.
//
// Password hashes never leave the ledger: each envelope keeps `passwordHashType` but not the hash, and the
// workos writer restores the hash the ledger holds for the row's key. A row exported, fixed by hand and
// written back keeps its password; an export file never holds one.
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { hasErrors } from '../pipelines/record.ts';
import { openLedger } from '../state/ledger.ts';
import { REPLAY_CLASSES, replayEnvelopes } from '../state/replay.ts';
import { counted } from '../pipelines/log.ts';

const options = z.object({
  path: inputPath().describe('Ledger file (SQLite) to read'),
  class: z
    .enum(REPLAY_CLASSES)
    .default('all')
    .describe('Rows to read: retryable (failed in WorkOS, or left in flight by an interrupted run), permanent (failed in WorkOS), invalid (kept out by validation), or all of them. Default all'),
  resend: z
    .boolean()
    .default(false)
    .describe("Read the rows to send them again, as `replay` sends them: without WorkOS's answer to the last attempt; a row kept out by validation keeps its errors, so it stays invalid"),
});

export const ledgerSource = defineSource({
  name: 'ledger',
  summary: "Reads a ledger's failed and invalid rows as envelopes, with what went wrong attached and without password hashes.",
  options,
  async *create(options, ctx) {
    const ledger = openLedger(options.path, { readonly: true });
    let invalid = 0;
    try {
      for (const envelope of replayEnvelopes(ledger, options.class, !options.resend)) {
        if (options.resend && hasErrors(envelope)) invalid++;
        yield envelope;
      }
    } finally {
      ledger.close();
    }
    if (invalid > 0) {
      ctx.log.info(
        `${counted(invalid, 'row')} kept out by validation stay invalid as they are: export them (authpipe replay --class invalid --export), fix them, and write them back through \`authpipe validate\``,
      );
    }
  },
});
