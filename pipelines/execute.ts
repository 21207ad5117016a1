// Runs a plan as a command: context, signals, progress, summary and exit code.
import { setMaxListeners } from 'node:events';
import { sharedResources, type Context, type RunProgress, type SinkWriter } from './component.ts';
import { createLogger } from './log.ts';
import { startProgress } from './progress.ts';
import { emptyStats, exitCodeOf, runPipeline, type RunPlan, type RunStats } from './run.ts';
import { failureReport, ReportedFailure } from './errors.ts';
import { summaryJson, summaryLine, summaryText, type Failure } from './summary.ts';

export interface RunFlags {
  quiet?: boolean;
  json?: boolean;
  dryRun?: boolean;
  live?: boolean;
  ledger?: string;
}

export function createContext(flags: RunFlags, baseDir: string, signal: AbortSignal, resources = sharedResources(), runProgress: RunProgress = { written: 0, failed: 0 }): Context {
  return {
    baseDir,
    env: process.env,
    // With --json, stderr carries warnings, errors and the summary, for a script to read.
    log: createLogger({ quiet: flags.quiet === true || flags.json === true }),
    signal,
    incomplete: new AbortController(),
    dryRun: flags.dryRun === true,
    live: flags.live === true,
    ledgerPath: flags.ledger,
    shared: resources.shared,
    runProgress,
  };
}

/**
 * A second signal within this long of the first is the same request: `timeout -s INT` and a terminal's Ctrl-C can
 * reach the process twice at once, which must not turn a clean stop into quitting.
 */
const REPEATED_SIGNAL_MS = 1000;

/** SIGINT/SIGTERM: the first asks the source to stop and in-flight work to finish; a later one quits. */
function stopOnSignals(controller: AbortController, ctx: () => Context | undefined): () => void {
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (performance.now() - firstAt >= REPEATED_SIGNAL_MS) process.exit(130);
      return;
    }
    firstAt = performance.now();
    ctx()?.log.info(`\n${signal}: stopping after in-flight rows are recorded (send again after a second to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Through the logger, which keeps out any secret given on the command line (a --set apiKey=...). */
function sayHowToResume(execution: Execution, stats: RunStats, ctx: Context | undefined): void {
  if (!stats.interrupted) return;
  if (execution.resumedBy === 'command') ctx?.log.warn(`interrupted; to resume, run the same command again: ${commandLine()}`);
  if (execution.resumedBy === 'chain') ctx?.log.warn('interrupted; to resume, run the whole chain again: rows already written are skipped');
}

/** The failure as the JSON summary states it; `exitCode` is failureReport's. */
export function failureOf(error: unknown, exitCode: number): Failure {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : 'internal';
    return { code, message: error.message, exitCode };
  }
  return { code: 'internal', message: String(error), exitCode };
}

/** What the pipeline's `after:` steps found, by step, and whether one found the run's effect short. */
export interface AfterFindings {
  short: boolean;
  counts: Record<string, object>;
}

export interface Execution {
  name: string;
  flags: RunFlags;
  baseDir: string;
  /** A pipeline run draws progress and a full summary; a verb in a Unix chain reports in one line. */
  verb: boolean;
  /** A verb that writes the chain's rows to a file lists, after its line, the invalid rows it left out. */
  endsChain?: boolean;
  build(ctx: Context): Promise<Omit<RunPlan, 'writer'> & { writer: SinkWriter; after?: () => Promise<AfterFindings> }>;
  /**
   * How an interrupted run is resumed, which it then says: by the same command line, or (a sink with a ledger at
   * the end of a chain, which has only its stdin) by the whole chain again.
   */
  resumedBy?: 'command' | 'chain';
}

function summaryOf(execution: Execution, stats: RunStats): string {
  return execution.verb ? summaryLine(execution.name, stats, execution.endsChain) : summaryText(execution.name, stats);
}

/** This process's command line as a POSIX shell takes it back, quoted where it must be. */
function commandLine(): string {
  return ['authpipe', ...process.argv.slice(2)].map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}

export async function execute(execution: Execution): Promise<number> {
  const resources = sharedResources();
  const controller = new AbortController();
  // Every call waiting on a rate budget or a backoff listens for the stop: with a concurrency over 10 Node would warn of a leak.
  setMaxListeners(0, controller.signal);
  let ctx: Context | undefined;
  const releaseSignals = stopOnSignals(controller, () => ctx);
  try {
    return await executeHeard(execution, resources, controller, (created) => (ctx = created));
  } finally {
    releaseSignals();
    await resources.closeAll();
  }
}

/** The run, its summary and its `after:` steps, while a signal stops them cleanly. */
async function executeHeard(execution: Execution, resources: ReturnType<typeof sharedResources>, controller: AbortController, onContext: (ctx: Context) => void): Promise<number> {
  let ctx: Context | undefined;
  const stats = emptyStats();
  const runProgress: RunProgress = { written: 0, failed: 0 };
  const stopProgress = !execution.verb && !execution.flags.quiet && !execution.flags.json ? startProgress(stats, runProgress) : () => undefined;
  let after: (() => Promise<AfterFindings>) | undefined;
  // A run stopped partway has written part of its input, a dry run none: there is nothing to prove yet.
  const runAfterSteps = async () => {
    if (after === undefined || stats.interrupted || execution.flags.dryRun) return;
    const found = await after();
    stats.unproven = found.short;
    stats.after = found.counts;
    // A step stopped by a signal has said how far it came.
    stats.interrupted = controller.signal.aborted;
  };
  try {
    ctx = createContext(execution.flags, execution.baseDir, controller.signal, resources, runProgress);
    onContext(ctx);
    const plan = await execution.build(ctx);
    after = plan.after;
    await runPipeline(plan, ctx, stats);
    // The JSON summary, last on stderr, counts their outcome; people read it after the run's summary instead.
    if (execution.flags.json) await runAfterSteps();
  } catch (error) {
    // A script reading --json gets what was done before the failure, and the failure, on the last line: the line for
    // people comes before it.
    if (execution.flags.json) {
      const { text, exitCode } = failureReport(error);
      process.stderr.write(text);
      process.stderr.write(summaryJson(execution.name, stats, failureOf(error, exitCode)));
      throw new ReportedFailure(exitCode);
    }
    // A run that failed partway still wrote the rows that reached its sink: people get the counts too.
    else if (stats.failedPartway && !execution.flags.quiet) process.stderr.write(summaryOf(execution, stats));
    throw error;
  } finally {
    stopProgress();
  }
  // Before the JSON summary, which comes last for a script; after the summary for people.
  if (execution.flags.json) {
    sayHowToResume(execution, stats, ctx);
    process.stderr.write(summaryJson(execution.name, stats));
  } else {
    if (!execution.flags.quiet) process.stderr.write(summaryOf(execution, stats));
    sayHowToResume(execution, stats, ctx);
  }
  if (!execution.flags.json) await runAfterSteps();
  return exitCodeOf(stats);
}
