// Composes source -> stages -> sink with stream.pipeline. Stages are async generators pulled one record
// at a time, so a slow sink slows the source down and memory stays flat whatever the input size.
import { pipeline } from 'node:stream/promises';
import { resultBeforeFailure, type Context, type SinkDetails, type SinkResult, type SinkWriter, type SourceComponent, type StageComponent, type Transform } from './component.ts';
import type { Block } from './load.ts';
import type { Envelope, Issue } from './record.ts';

export interface RunStats {
  read: number;
  /** Rows a stage (dedupe) joined into an earlier row of the same user: read minus the rows out of the last stage. */
  merged: number;
  written: number;
  failed: number;
  skipped: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
  /** The first error of the first MAX_INVALID_EXAMPLES invalid rows, with its place: which rows to look at, not only how many. */
  invalidExamples: string[];
  warningsByCode: Record<string, number>;
  elapsedMs: number;
  interrupted: boolean;
  /** The source or a stage failed partway: the sink finished the rows that reached it, then the run failed with it. */
  failedPartway: boolean;
  /** An `after:` step (diff) found the run's effect short of what was asked. */
  unproven: boolean;
  /** What the `after:` steps found, by step (the diff's counts), for --json. */
  after?: Record<string, object>;
  sink?: SinkDetails;
}

/** Enough to find the rows to fix in a big run, few enough to keep the summary readable. */
const MAX_INVALID_EXAMPLES = 10;

export interface RunPlan {
  source: Block<SourceComponent>;
  stages: Block<StageComponent>[];
  /** Built by the caller: a sink component's writer, or the NDJSON transport of a Unix-chain verb. */
  writer: SinkWriter;
}

export function emptyStats(): RunStats {
  return { read: 0, merged: 0, written: 0, failed: 0, skipped: 0, invalidRows: 0, invalidByCode: {}, invalidExamples: [], warningsByCode: {}, elapsedMs: 0, interrupted: false, failedPartway: false, unproven: false };
}

function count(tally: Record<string, number>, code: string): void {
  tally[code] = (tally[code] ?? 0) + 1;
}

/**
 * Shows `each` every record that passes, in a plain iterator rather than an async generator: measured, a generator
 * in the chain costs each record several times what this costs. Stopping early still reaches the records' source.
 * With `onFailure`, a failure to give the next record ends the records instead, and goes to `onFailure`.
 */
function tap(input: AsyncIterable<Envelope>, each: (envelope: Envelope) => void, onFailure?: (error: unknown) => void): AsyncIterable<Envelope> {
  return {
    [Symbol.asyncIterator]() {
      const records = input[Symbol.asyncIterator]();
      const seen = (result: IteratorResult<Envelope>) => {
        if (!result.done) each(result.value);
        return result;
      };
      const ended =
        onFailure &&
        ((error: unknown): IteratorResult<Envelope> => {
          onFailure(error);
          return { done: true, value: undefined };
        });
      return {
        next: () => records.next().then(seen, ended),
        return: (value?: unknown) => records.return?.(value) ?? Promise.resolve({ done: true, value }),
      };
    },
  };
}

export async function runPipeline(plan: RunPlan, ctx: Context, stats: RunStats = emptyStats()): Promise<RunStats> {
  const started = performance.now();
  const source = plan.source.component.create(plan.source.options, ctx);
  const transforms: Transform[] = [];
  for (const stage of plan.stages) transforms.push(await stage.component.create(stage.options, ctx));

  const countRead = () => {
    stats.read++;
  };
  // Counted after the last stage, where every issue of a record is known.
  let emitted = 0;
  const tallyIssues = (envelope: Envelope) => {
    ctx.runProgress.passed = ++emitted;
    let firstError: Issue | undefined;
    for (const issue of envelope.issues) {
      if (issue.level === 'error') firstError ??= issue;
      count(issue.level === 'error' ? stats.invalidByCode : stats.warningsByCode, issue.code);
    }
    if (firstError === undefined) return;
    stats.invalidRows++;
    if (stats.invalidExamples.length < MAX_INVALID_EXAMPLES) stats.invalidExamples.push(`${firstError.message} [${firstError.code}]`);
  };

  // A source that fails partway (a JSON document broken halfway, a disk error) ends the records there: the stages and
  // the sink finish the records read before the failure, which the run then fails with. Otherwise the rows in flight
  // (a sink's unwritten chunk, a dedupe group) would be lost though the message says they were read. A stage that
  // fails (its duplicate index out of disk space) ends the sink's records the same way: what reached the sink is kept.
  let failure: { error: unknown; inStage: boolean } | undefined;
  // The first failure is the run's; a stage failing at all leaves rows inside the stages.
  const stopOn = (inStage: boolean) => (error: unknown) => {
    failure = { error: failure?.error ?? error, inStage: inStage || failure?.inStage === true };
    ctx.incomplete.abort(error);
  };
  const throughStages = (input: AsyncIterable<Envelope>) =>
    tap(
      transforms.reduce<AsyncIterable<Envelope>>((records, transform) => transform(records), tap(input, countRead, stopOn(false))),
      tallyIssues,
      stopOn(true),
    );

  let result: SinkResult = { written: 0, failed: 0, skipped: 0 };
  try {
    await pipeline(source, throughStages, async (records: AsyncIterable<Envelope>) => {
      try {
        result = await plan.writer(records);
      } catch (error) {
        result = resultBeforeFailure(error) ?? result;
        throw error;
      }
    });
  } finally {
    // Also for a run that failed: its summary says how long it went, and what its sink wrote before.
    stats.elapsedMs = performance.now() - started;
    stats.written = result.written;
    stats.failed = result.failed;
    stats.skipped = result.skipped;
    stats.sink = result.details;
  }
  stats.interrupted = ctx.signal.aborted;
  // An interrupted run, or a failed stage, leaves rows inside the stages, which were not merged.
  stats.merged = stats.interrupted || failure?.inStage === true ? 0 : stats.read - emitted;
  if (failure !== undefined) {
    // A stop asked for while the rows read before the failure were finishing: the run is interrupted (exit 130, and
    // how to resume, as rows may be left for the next run); the failure is still said.
    if (!stats.interrupted) {
      stats.failedPartway = true;
      throw failure.error;
    }
    const { error } = failure;
    ctx.log.warn(`the input failed before the stop: ${error instanceof Error ? error.message : String(error)}`);
  }
  return stats;
}

export function exitCodeOf(stats: RunStats): number {
  if (stats.interrupted) return 130;
  return stats.invalidRows > 0 || stats.failed > 0 || stats.unproven ? 3 : 0;
}
