// `after: [{ use: diff }]` and `authpipe diff`: proves, once a run is done, that every user its ledger holds landed in
// WorkOS as sent (sinks/workos/diff.ts compares), says so on stderr, and lists every difference in a report.
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { defineAfter, outputPath, type Context } from '../pipelines/component.ts';
import { UsageError } from '../pipelines/errors.ts';
import { openLedger, type Ledger } from '../state/ledger.ts';
import { readingApi, workosSink, type WorkosOptions } from './workos.ts';
import type { WorkosApi } from './workos/api.ts';
import { diffLedger, emptyDiffCounts, hasDifferences, type DiffCounts, type Difference } from './workos/diff.ts';
import { checkLedgerServer, writtenUsers } from './workos/ledger-server.ts';
import { Interrupted } from './workos/limiter.ts';
import { openOutput } from './output.ts';
import { counted } from '../pipelines/log.ts';

const options = z.object({
  report: outputPath()
    .optional()
    .describe(
      'NDJSON file listing every difference, one per line (user_missing, user_mismatched with the fields that differ, user_unknown, membership_missing, membership_roles, membership_not_in_source, factor_missing, factor_other_secret, factors_extra); - for stdout. Holds emails and names, no password hash; created readable by its owner only. Default: the summary alone',
    ),
});

/** Enough to see what kind of difference there is, few enough to read. */
const MAX_EXAMPLES = 10;
/** A line this often while the diff reads or compares, as the run's progress lines come when not on a terminal. */
const PROGRESS_EVERY_MS = 10_000;


function example(difference: Difference): string {
  switch (difference.kind) {
    case 'user_missing':
      return `${difference.key}: not in WorkOS (ledger: ${difference.state}${difference.workosUserWithEmail === undefined ? '' : `; WorkOS has its email as ${difference.workosUserWithEmail}`})`;
    case 'user_mismatched':
      return `${difference.key}: WorkOS user ${difference.workosUserId} differs in ${difference.fields.map((field) => field.field).join(', ')}`;
    case 'user_unknown':
      return `WorkOS user ${difference.workosUserId}: no row of the ledger`;
    case 'membership_missing':
      return `${difference.key}: no membership in ${difference.org}`;
    case 'membership_roles':
      return `${difference.key}: membership in ${difference.org} has roles ${difference.workosRoles.join(', ') || '(none)'}, not ${difference.roles.join(', ')}`;
    case 'membership_not_in_source':
      return `${difference.key}: membership in ${difference.org} is no longer in the source, and still in WorkOS`;
    case 'factor_missing':
      return `${difference.key}: no TOTP factor`;
    case 'factor_other_secret':
      return `${difference.key}: the TOTP factor in WorkOS holds an earlier secret of the source (remove it in WorkOS to enrol the new one)`;
    case 'factors_extra':
      return `${difference.key}: ${difference.workosFactorIds.length} TOTP factors in WorkOS (${difference.workosFactorIds.join(', ')}), each of which lets its holder in: ${difference.ledgerFactorId === null ? 'keep one' : `keep ${difference.ledgerFactorId}, the one the ledger recorded,`} and remove the others in WorkOS`;
  }
}

/** The diff's outcome for people, a line per kind of thing compared. */
function diffSummary(counts: DiffCounts, server: string): string[] {
  const fields = Object.entries(counts.mismatchedFields).map(([field, count]) => `${field} ${count}`);
  const users = [
    `${counts.landed} in WorkOS as sent`,
    `${counts.missing} missing`,
    `${counts.mismatched} with other values${fields.length > 0 ? ` (${fields.join(', ')})` : ''}`,
  ];
  const { memberships, factors } = counts;
  return [
    `diff: ${counted(counts.expected, 'user')} of the ledger looked for at ${server}: ${users.join(', ')}; ${counts.invalid} invalid rows were never sent`,
    `diff: memberships ${memberships.expected - memberships.missing - memberships.otherRoles} of ${memberships.expected} as sent (${memberships.missing} missing, ${memberships.otherRoles} with other roles${memberships.notInSource > 0 ? `; ${memberships.notInSource} the source no longer names are still in WorkOS, left as they are` : ''}); TOTP factors ${factors.expected - factors.missing - factors.otherSecret} of ${factors.expected}${factors.otherSecret > 0 ? ` (${factors.otherSecret} with an earlier secret)` : ''}${factors.extra > 0 ? `; ${counted(factors.extra, 'user')} with more than one` : ''}`,
    `diff: ${counted(counts.workosUsers, 'WorkOS user')} read, ${counts.unknown} of them not from the ledger (there before, or made another way)`,
  ];
}

/**
 * Refuses a server that holds none of the users the ledger wrote last, before anything is recorded: compared with the
 * wrong server (another environment's key, an emulator restarted empty), every row would be found missing, and the
 * ledger would forget every user's WorkOS id.
 */
async function checkSameServer(api: WorkosApi, ledger: Ledger, server: string, ctx: Context): Promise<void> {
  try {
    await checkLedgerServer(api, ledger, writtenUsers(ledger), server, ctx.log);
  } catch (error) {
    if (!(error instanceof UsageError && error.code === 'workos.ledger_elsewhere')) throw error;
    throw new UsageError(
      'diff.ledger_elsewhere',
      `${server} has none of the users the ledger ${ledger.file} wrote last: it is not the WorkOS its runs wrote to (another environment's key, an emulator restarted empty?). ` +
        'Compare with that one (--base-url, and its WORKOS_API_KEY); nothing was compared or recorded',
    );
  }
}

/**
 * Compares the ledger at `ledgerPath` with the WorkOS `connection` names, writes the report, and tells people.
 * Resolves the counts; the caller decides the exit code (hasDifferences, and `interrupted`).
 */
export async function runDiff(ledgerPath: string, connection: WorkosOptions, report: string | undefined, ctx: Context): Promise<DiffCounts> {
  const counts = emptyDiffCounts();
  // Written as well as read: what WorkOS lacks is recorded for the next run or a replay to send again.
  const ledger = openLedger(ledgerPath);
  const examples: string[] = [];
  let server: string;
  try {
    const reading = await readingApi(connection, ledger, ctx);
    server = reading.server;
    try {
      await checkSameServer(reading.api, ledger, server, ctx);
      if (!ledger.lastRunEnded()) {
        ctx.log.warn(`diff: the ledger's last run did not end (killed, or still running): rows it had not read yet are not in the ledger, so not compared`);
      }
      ctx.log.info(`diff: reading WorkOS at ${server} and comparing it with ledger ${ledger.file}`);
      const differences = diffLedger(reading.api, ledger, counts, { onStep: (message) => ctx.log.info(message), everyMs: PROGRESS_EVERY_MS });
      const seen = (difference: Difference) => {
        if (examples.length < MAX_EXAMPLES && difference.kind !== 'user_unknown') examples.push(example(difference));
      };
      async function* lines(): AsyncGenerator<string> {
        for await (const difference of differences) {
          seen(difference);
          yield `${JSON.stringify(difference)}\n`;
        }
      }
      if (report === undefined) {
        for await (const difference of differences) seen(difference);
      } else {
        const output = await openOutput(report, ctx, 'differences found');
        // Every line is one finding; a report with none replaces an older one all the same.
        await output.finish(pipeline(lines(), output.stream, { end: output.end }), () => 1);
      }
      // A stop asked for while the last calls were answered, with none left to refuse: the diff is stopped all the same.
      if (ctx.signal.aborted) counts.interrupted = true;
    } catch (error) {
      if (!(error instanceof Interrupted) && !ctx.signal.aborted) throw error;
      counts.interrupted = true;
    } finally {
      reading.close();
    }
  } finally {
    ledger.close();
  }
  if (counts.interrupted) {
    ctx.log.warn(`diff: stopped before the end: what it found so far is recorded in the ledger; run it again to compare every row`);
    return counts;
  }
  for (const line of diffSummary(counts, server)) ctx.log.info(line);
  if (hasDifferences(counts)) {
    const where = report === undefined ? 'give a report file (report: in the after step, --report for the verb) to list them all' : `every one is in ${report === '-' ? 'the report on stdout' : report}`;
    const next = [
      counts.resent > 0
        ? `${counted(counts.resent, 'row')} the ledger had as done ${counts.resent === 1 ? 'is' : 'are'} now failed/retryable (diff.* codes): the next run, or \`authpipe replay --ledger ${ledgerPath}\`, sends ${counts.resent === 1 ? 'it' : 'them'} again`
        : '',
      counts.unsettled > 0
        ? `${counted(counts.unsettled, 'row')} had failed or not finished already: \`authpipe ledger rows --ledger ${ledgerPath} --state failed,in_flight,pending\` says why (a permanent failure needs a fix: replay --class permanent --export)`
        : '',
    ].filter(Boolean);
    ctx.log.warn(`diff: WorkOS does not hold everything the ledger sent; for example:\n  ${examples.join('\n  ')}\n${where}.${next.map((line) => `\n${line}`).join('')}`);
  } else if (counts.expected > 0) {
    ctx.log.info(`diff: every user, membership and factor of the ledger is in WorkOS as sent`);
  } else {
    ctx.log.warn(`diff: the ledger ${ledger.file} holds no row that was to be sent: there is nothing to prove`);
  }
  return counts;
}

export const diffStep = defineAfter({
  name: 'diff',
  summary:
    'After the run, proves that it landed: looks for every user of the ledger in WorkOS (listed, a hundred a call, under the read budget) and compares it with what was sent, with its memberships and TOTP factor. Differences make the exit code 3. Needs the workos sink and a ledger.',
  options,
  problem(sink, ledger) {
    if (sink.component !== workosSink) return `diff compares WorkOS with the ledger of a workos sink; this pipeline's sink is ${sink.component.name}`;
    return ledger === undefined ? 'diff compares WorkOS with the ledger: set `ledger:` in the pipeline file' : undefined;
  },
  async run(options, ctx, sink) {
    if (ctx.ledgerPath === undefined) return { short: false, counts: {} };
    const counts = await runDiff(ctx.ledgerPath, sink.options as WorkosOptions, options.report, ctx);
    return { short: hasDifferences(counts), counts };
  },
});
