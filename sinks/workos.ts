// The WorkOS writer (design.md, "The writer"): users, organizations, memberships and TOTP factors, each effect
// spent exactly once under the rate budget, every step recorded in the ledger so that a run can be killed
// at any moment and resumed.
import pLimit from 'p-limit';
import { z } from 'zod';
import { defineSink, failedAfterWriting, secretText, type Context, type SinkResult, type SinkWriter } from '../pipelines/component.ts';
import { UsageError } from '../pipelines/errors.ts';
import { counted, type Logger } from '../pipelines/log.ts';
import { formatRate, formatWindow, isBudget, parseBudget, type RateBudget } from '../pipelines/rate.ts';
import type { Envelope } from '../pipelines/record.ts';
import { openLedger, type CallKind, type Ledger, type SinkSettings } from '../state/ledger.ts';
import { WorkosApi, type ApiSettings } from './workos/api.ts';
import { createWorkosClient, serverAddress } from './workos/client.ts';
import { checkLedgerServer, writtenUsers } from './workos/ledger-server.ts';
import { OrgResolver } from './workos/orgs.ts';
import { WritePlan } from './workos/plan.ts';
import { RowWriter } from './workos/row-writer.ts';
import { createTransport } from './workos/transport.ts';

const EMBEDDED = 'embedded';
const CALL_KINDS: readonly CallKind[] = ['write', 'read'];

/** Why the base URL cannot be used, or undefined when it can: `check` reports it at its place in the file. */
function baseUrlProblem(baseUrl: string): string | undefined {
  if (baseUrl === EMBEDDED) return undefined;
  try {
    serverAddress(baseUrl);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function isBaseUrl(baseUrl: string): boolean {
  return baseUrlProblem(baseUrl) === undefined;
}

const rate = (fallback: string) =>
  z
    .string()
    .trim()
    .refine(isBudget, 'expected calls per window such as 500/10s, 50/1s or 1000/1m, or none')
    .default(fallback);

const options = z.object({
  apiKey: secretText()
    .optional()
    .describe('WorkOS API key, in the pipeline file only (no flag: a command line shows in ps and shell history); default: the WORKOS_API_KEY environment variable, else WORKOS_SECRET_KEY. Never logged, never stored in the ledger'),
  baseUrl: z
    .string()
    .trim()
    .refine(isBaseUrl, { error: (issue) => baseUrlProblem(String(issue.input)) })
    .optional()
    .describe(
      'API base URL: http(s)://host[:port][/path] for another server such as `authpipe emulator` (a path, as behind a gateway, goes before every request path), `embedded` to run the WorkOS emulator inside this process, or empty for api.workos.com; default: the WORKOS_API_URL environment variable, else api.workos.com (for `write workos --ledger`, `replay` and `diff`, the server the ledger\'s last run wrote to comes first)',
    ),
  rate: rate('500/10s').describe('Write budget (users, memberships, factors, org creates): no window of this length ever holds more calls; none = no budget. Default 500/10s, the WorkOS limit'),
  readRate: rate('1000/10s').describe('Read budget (lookups), kept apart from writes. Default 1000/10s, the WorkOS limit'),
  concurrency: z.number().int().min(1).max(256).default(8).describe('Rows written at the same time; the input is not read further while all are busy. Default 8'),
  retries: z.number().int().min(0).max(20).default(5).describe('Retries of a call that timed out or got a 5xx or a network error, with backoff, before the row is failed/retryable. Default 5'),
  timeout: z.number().int().min(1).default(60_000).describe('Milliseconds to wait for an answer; a call without one counts as retryable (it may have landed). Default 60000'),
  maxOutage: z
    .number()
    .int()
    // A single 429 is a pause, not an outage: under a second, the first one stopped the run.
    .min(1000)
    .default(600_000)
    .describe(
      'Milliseconds WorkOS may fail every call (5xx, timeouts, network errors) or answer only 429 before the run stops; until then every call pauses and tries again, and no row is failed for the outage. Also how long it may answer reads but take no write (rows failed ten at a time, with a pause after each ten) before the run stops. At least 1000; default 600000 (10 minutes)',
    ),
  live: z.boolean().default(false).describe('Allow a live (sk_live_) key, i.e. writing to production. Default false'),
  totpIssuer: z.string().min(1).optional().describe('Issuer shown in authenticator apps for imported TOTP factors; default: WorkOS picks one'),
});

export type WorkosOptions = z.output<typeof options>;

/**
 * Any key works against the embedded emulator; none is needed to try authpipe out, and the environment's is not taken:
 * a live key there, meant for a real run, would refuse the demo.
 */
const EMBEDDED_KEY = 'sk_test_embedded';

function apiKeyOf(options: WorkosOptions, baseUrl: string, ctx: Context): string | undefined {
  if (baseUrl === EMBEDDED) return options.apiKey || EMBEDDED_KEY;
  return (options.apiKey ?? ctx.env.WORKOS_API_KEY ?? ctx.env.WORKOS_SECRET_KEY) || undefined;
}

function settingsOf(options: WorkosOptions, baseUrl: string): SinkSettings {
  const { rate, readRate, concurrency, retries, timeout, totpIssuer } = options;
  return { sink: 'workos', baseUrl, rate, readRate, concurrency, retries, timeout, totpIssuer };
}

/** The base URL the options name, else WORKOS_API_URL's, checked as the options' is when the file is. */
function baseUrlOf(options: WorkosOptions, ctx: Context): string {
  const baseUrl = options.baseUrl ?? ctx.env.WORKOS_API_URL?.trim() ?? '';
  const problem = options.baseUrl === undefined ? baseUrlProblem(baseUrl) : undefined;
  if (problem !== undefined) throw new UsageError('workos.base_url_invalid', `WORKOS_API_URL: ${problem}`);
  return baseUrl;
}

function requireKey(apiKey: string | undefined): string {
  if (apiKey === undefined) {
    throw new UsageError('workos.missing_key', 'no WorkOS API key: set WORKOS_API_KEY (or WORKOS_SECRET_KEY), or apiKey in the sink options');
  }
  return apiKey;
}

/** A live key writes to production: only with --live (or `live: true`), so that no demo ever does. */
const isRefusedLiveKey = (apiKey: string, options: WorkosOptions, ctx: Context) => apiKey.startsWith('sk_live_') && !options.live && !ctx.live;

function checkKey(given: string | undefined, options: WorkosOptions, ctx: Context): string {
  const apiKey = requireKey(given);
  if (isRefusedLiveKey(apiKey, options, ctx)) {
    throw new UsageError(
      'workos.live_key_refused',
      'the API key is a live key (sk_live_), which writes to production; nothing was sent. Pass --live (or live: true in the sink options) if that is what you want',
    );
  }
  return apiKey;
}

/** Where a run would write, as people name it. */
const serverName = (baseUrl: string) => (baseUrl === EMBEDDED ? 'the embedded emulator' : baseUrl || 'api.workos.com');

function planner(options: WorkosOptions, ctx: Context, baseUrl: string, apiKey: string | undefined): SinkWriter {
  ctx.log.info(`dry run: a run would write to ${serverName(baseUrl)}${baseUrl === '' ? ' (WorkOS itself: WORKOS_API_URL is unset)' : ''}`);
  if (apiKey === undefined) ctx.log.warn('workos: no API key set; a real run would stop before its first call (set WORKOS_API_KEY)');
  else if (isRefusedLiveKey(apiKey, options, ctx)) ctx.log.warn('workos: the key is a live (sk_live_) key; a real run needs --live');
  return async (records) => {
    const ledger = ctx.ledgerPath === undefined ? null : openExistingLedger(ctx.ledgerPath);
    try {
      const plan = new WritePlan(ledger);
      for await (const envelope of records) plan.add(envelope);
      for (const line of plan.describe(parseBudget(options.rate))) ctx.log.info(line);
      return { written: 0, failed: 0, skipped: plan.counts.unchanged, details: plan.details(parseBudget(options.rate)) };
    } finally {
      ledger?.close();
    }
  };
}

function openExistingLedger(file: string): Ledger | null {
  try {
    return openLedger(file, { readonly: true });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ledger.missing') return null;
    throw error;
  }
}

/** The run's embedded emulator: the sink writes to it, and the `after:` steps read from it before it is gone. */
function embeddedEmulator(ctx: Context) {
  return ctx.shared(EMBEDDED, async () => {
    // Only the embedded mode needs the emulator: loaded on demand, a sink never depends on it otherwise.
    const { startWorkosEmulator } = await import('../emulators/workos/server.ts');
    return startWorkosEmulator({ record: false });
  });
}

interface Connection {
  api: WorkosApi;
  /** Ends the budgets' timers and the connections. */
  close(): void;
}

/**
 * WorkOS at `baseUrl` (the run's embedded emulator for `embedded`), on `budgets`: the calls the ledger's other runs
 * made to it count against them, and this one's against a run started right after.
 */
async function connect(options: WorkosOptions, ctx: Context, baseUrl: string, apiKey: string, ledger: Ledger, budgets: Record<CallKind, RateBudget | null>, answeredBefore = false): Promise<Connection> {
  const emulator = baseUrl === EMBEDDED ? await embeddedEmulator(ctx) : null;
  const transport = createTransport();
  try {
    const api = new WorkosApi({
      sdk: createWorkosClient({ apiKey, baseUrl: emulator?.url ?? baseUrl, timeoutMs: options.timeout, transport }),
      writes: budgets.write,
      reads: budgets.read,
      retries: options.retries,
      maxOutageMs: options.maxOutage,
      answeredBefore,
      log: ctx.log,
      signal: ctx.signal,
      // The embedded emulator is a new server each run, with budgets of its own: nothing carries over to it.
      ...callsOfOtherRuns(ledger, baseUrl, budgets, emulator === null, ctx.log),
    });
    return {
      api,
      close() {
        api.close();
        transport.close();
      },
    };
  } catch (error) {
    transport.close();
    throw error;
  }
}

/** WorkOS for reads alone (the diff), reached as the sink's options say, on the read budget the ledger's runs share. */
export async function readingApi(options: WorkosOptions, ledger: Ledger, ctx: Context): Promise<Connection & { server: string }> {
  const baseUrl = baseUrlOf(options, ctx);
  const apiKey = apiKeyOf(options, baseUrl, ctx);
  ctx.log.redact(apiKey);
  const connection = await connect(options, ctx, baseUrl, requireKey(apiKey), ledger, { write: null, read: parseBudget(options.readRate) });
  return { ...connection, server: serverName(baseUrl) };
}

function summary(rows: RowWriter, ledger: Ledger): string {
  const { created, landed, updated, found, completed, unchanged, failed, invalid, interrupted } = rows.counts;
  // Found after a create whose answer was lost (to the network, or to a run killed while it waited): most likely created
  // by it, but a user that was there before the create (refused as existing, or stopped by a gateway's 5xx) is found
  // the same way.
  const answersLost = landed > 0 ? `, ${landed} found after a create's answer was lost` : '';
  const parts = [`workos: ${rows.written} written (${created} created${answersLost}, ${updated} updated, ${found} already in WorkOS, ${completed} completed)`, `${unchanged} unchanged`];
  if (failed > 0) {
    const codes = [...rows.failuresByCode].sort((a, b) => b[1] - a[1]).map(([label, count]) => `${count} ${label}`);
    parts.push(`${failed} failed (${codes.join(', ')})`);
  }
  if (invalid > 0) parts.push(`${invalid} invalid recorded`);
  if (interrupted > 0) parts.push(`${interrupted} left for the next run`);
  return `${parts.join(', ')}; ledger ${ledger.file}`;
}

/** Reads rows only while fewer than `concurrency` are being written: a slow API pauses the source. */
async function writeAll(records: AsyncIterable<Envelope>, rows: RowWriter, concurrency: number, ctx: Context): Promise<void> {
  const { signal, runProgress } = ctx;
  const limit = pLimit(concurrency);
  // Rows in progress by key: a second row with the same key waits for the first one.
  const inProgress = new Map<string, Promise<void>>();
  // A fatal error (a bad API key, a broken ledger) stops the reading; the rows in progress finish first.
  const stopped: { error?: unknown; failed: boolean } = { failed: false };
  try {
    for await (const envelope of records) {
      if (signal.aborted || stopped.failed) break;
      const { key } = envelope;
      const sameKey = inProgress.get(key);
      if (sameKey !== undefined) await sameKey;
      const task: Promise<void> = limit(() => rows.write(envelope))
        .catch((error: unknown) => {
          if (stopped.failed) return;
          stopped.failed = true;
          stopped.error = error;
        })
        .finally(() => {
          if (inProgress.get(key) === task) inProgress.delete(key);
          runProgress.written = rows.written;
          runProgress.failed = rows.counts.failed;
          runProgress.finished = (runProgress.finished ?? 0) + 1;
        });
      inProgress.set(key, task);
      if (limit.activeCount + limit.pendingCount >= concurrency) await Promise.race(inProgress.values());
    }
  } finally {
    // Rows already taken finish and are recorded, also when the input fails partway (a stage that stopped).
    await Promise.all(inProgress.values());
  }
  if (stopped.failed) throw stopped.error;
}

/**
 * The calls of earlier runs in each budget's window that is still open (when they were answered, ms since the epoch):
 * a run started right after a kill -9 would otherwise send a whole budget on top of them, and meet 429s.
 */
function spentBefore(ledger: Ledger, server: string, budgets: Record<CallKind, RateBudget | null>, log: Logger): Record<CallKind, number[]> {
  const spent: Record<CallKind, number[]> = { write: [], read: [] };
  for (const kind of CALL_KINDS) {
    const budget = budgets[kind];
    if (budget === null) continue;
    const now = Date.now();
    const { answeredAt, unfinishedRun } = ledger.recentCalls(kind, server, now - budget.windowMs);
    if (answeredAt.length === 0 && unfinishedRun === undefined) continue;
    // A killed run had up to `concurrency` calls in flight, never recorded as answered: they count as answered now.
    const inFlight = unfinishedRun === undefined ? [] : new Array<number>(unfinishedRun.concurrency).fill(now);
    spent[kind] = [...answeredAt, ...inFlight];
    log.info(`workos: earlier runs made ${counted(spent[kind].length, `${kind} call`)} within the last ${formatWindow(budget.windowMs)}; this run spends what is left of ${formatRate(budget)}`);
  }
  return spent;
}

/**
 * The calls earlier processes made (spentBefore) and a hook keeping this one's for later ones: a budget is the
 * server's, whichever process spends it. `carried`: false for the embedded emulator, a new server each run.
 */
function callsOfOtherRuns(ledger: Ledger, server: string, budgets: Record<CallKind, RateBudget | null>, carried: boolean, log: Logger): Pick<ApiSettings, 'spentBefore' | 'onAnswered' | 'onSent'> {
  if (!carried) return {};
  return {
    spentBefore: spentBefore(ledger, server, budgets, log),
    onAnswered: (kind, budget) => ledger.callAnswered(kind, server, Date.now(), budget.windowMs),
    onSent: () => ledger.callSent(Date.now()),
  };
}

/** What an earlier run left, said before this one starts: a run after a crash or a kill is a resume. */
function resumeNote(ledger: Ledger): string | null {
  const { rows, byState } = ledger.status();
  if (rows === 0) return null;
  const parts = [
    `${byState.done} done (skipped when unchanged)`,
    byState.in_flight > 0 ? `${byState.in_flight} in flight when a run stopped (looked up before anything is sent again)` : '',
    byState.pending > 0 ? `${byState.pending} stopped before they were sent (sent when they come again)` : '',
    byState.failed > 0 ? `${byState.failed} failed (sent again when they come again)` : '',
    byState.invalid > 0 ? `${byState.invalid} invalid` : '',
  ].filter(Boolean);
  return `workos: the ledger holds ${counted(rows, 'row')} from earlier runs: ${parts.join(', ')}`;
}

export const workosSink = defineSink({
  name: 'workos',
  summary: 'Writes users, organizations, memberships and TOTP factors to WorkOS under a rate budget, exactly once, resumable from the ledger.',
  options,
  async create(options, ctx): Promise<SinkWriter> {
    const baseUrl = baseUrlOf(options, ctx);
    const apiKey = apiKeyOf(options, baseUrl, ctx);
    ctx.log.redact(apiKey);
    if (ctx.dryRun) return planner(options, ctx, baseUrl, apiKey);
    const key = checkKey(apiKey, options, ctx);
    if (ctx.ledgerPath === undefined) {
      throw new UsageError('workos.ledger_required', 'the workos sink needs a ledger to write exactly once: set `ledger:` in the pipeline file or pass --ledger PATH');
    }
    const ledger = openLedger(ctx.ledgerPath);
    return async (records): Promise<SinkResult> => {
      const budgets = { write: parseBudget(options.rate), read: parseBudget(options.readRate) };
      const embedded = baseUrl === EMBEDDED;
      let connection: Connection | undefined;
      let rows: RowWriter | undefined;
      let runId: number | undefined;
      try {
        // Read once: for the check that the ledger belongs to this server, and whether it has answered before.
        const written = writtenUsers(ledger);
        const answeredBefore = !embedded && ledger.lastSinkSettings()?.baseUrl === baseUrl && written.last.length > 0;
        connection = await connect(options, ctx, baseUrl, key, ledger, budgets, answeredBefore);
        const { api } = connection;
        // The embedded emulator starts empty each run: a ledger of an earlier run has users it never held.
        await checkLedgerServer(api, ledger, written, embedded ? 'the embedded emulator (new and empty each run)' : serverName(baseUrl), ctx.log);
        rows = new RowWriter(api, ledger, new OrgResolver(api, ledger), options.totpIssuer);
        runId = ledger.startRun(settingsOf(options, baseUrl));
        ctx.log.info(`workos: writing to ${serverName(baseUrl)} at ${formatRate(budgets.write)}, ${options.concurrency} rows at a time`);
        const resuming = resumeNote(ledger);
        if (resuming !== null) ctx.log.info(resuming);
        await writeAll(records, rows, options.concurrency, ctx).catch((error: unknown) => {
          if (rows === undefined) throw error;
          throw failedAfterWriting(error, { written: rows.written, failed: rows.counts.failed, skipped: rows.counts.unchanged });
        });
      } finally {
        try {
          if (runId !== undefined && rows !== undefined) {
            ledger.finishRun(runId, { ...rows.counts, written: rows.written });
            ctx.log.info(summary(rows, ledger));
          }
        } finally {
          // Also when the run could not start: the budgets' timers would keep the process alive for a window.
          connection?.close();
          ledger.close();
        }
      }
      const { notValidated } = rows.counts;
      if (notValidated > 0) {
        ctx.log.warn(
          `workos: ${counted(notValidated, 'row')} of replay --export came without a validate stage after the fix, and ${notValidated === 1 ? 'was' : 'were'} left as the ledger has ${notValidated === 1 ? 'it' : 'them'}, nothing sent: put \`authpipe validate\` before \`write workos\``,
        );
      }
      // Counted with the failed rows: the run did not do what was asked of it for them.
      const { created, landed, updated, found, completed, unchanged, invalid, interrupted } = rows.counts;
      const details = { created, foundAfterLostAnswer: landed, updated, found, completed, unchanged, failedByCode: Object.fromEntries(rows.failuresByCode), invalidRecorded: invalid, leftForNextRun: interrupted, notValidated };
      return { written: rows.written, failed: rows.counts.failed + notValidated, skipped: unchanged, details };
    };
  },
});
