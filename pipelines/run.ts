// Composes source -> stages -> sink with stream.pipeline. Stages are async generators pulled one record
// at a time, so a slow sink slows the source down and memory stays flat whatever the input size.
import { pipeline } from 'node:stream/promises';
import type { Context, SinkResult, SinkWriter, SourceComponent, StageComponent, Transform } from './component.ts';
import type { Block } from './load.ts';
import { hasErrors, type Envelope } from './record.ts';

export interface RunStats {
  read: number;
  written: number;
  failed: number;
  skipped: number;
  invalidRows: number;
  invalidByCode: Record<string, number>;
  warningsByCode: Record<string, number>;
  elapsedMs: number;
  interrupted: boolean;
}

export interface RunPlan {
  source: Block<SourceComponent>;
  stages: Block<StageComponent>[];
  /** Built by the caller: a sink component's writer, or the NDJSON transport of a Unix-chain verb. */
  writer: SinkWriter;
}

export function emptyStats(): RunStats {
  return { read: 0, written: 0, failed: 0, skipped: 0, invalidRows: 0, invalidByCode: {}, warningsByCode: {}, elapsedMs: 0, interrupted: false };
}

function count(tally: Record<string, number>, code: string): void {
  tally[code] = (tally[code] ?? 0) + 1;
}

export async function runPipeline(plan: RunPlan, ctx: Context, stats: RunStats = emptyStats()): Promise<RunStats> {
  const started = performance.now();
  const source = plan.source.component.create(plan.source.options, ctx);
  const transforms: Transform[] = [];
  for (const stage of plan.stages) transforms.push(await stage.component.create(stage.options, ctx));

  async function* countRead(input: AsyncIterable<Envelope>): AsyncIterable<Envelope> {
    for await (const envelope of input) {
      stats.read++;
      yield envelope;
    }
  }

  // Counted after the last stage, where every issue of a record is known.
  async function* tallyIssues(input: AsyncIterable<Envelope>): AsyncIterable<Envelope> {
    for await (const envelope of input) {
      if (hasErrors(envelope)) stats.invalidRows++;
      for (const issue of envelope.issues) count(issue.level === 'error' ? stats.invalidByCode : stats.warningsByCode, issue.code);
      yield envelope;
    }
  }

  const throughStages = (input: AsyncIterable<Envelope>) =>
    tallyIssues(transforms.reduce<AsyncIterable<Envelope>>((records, transform) => transform(records), countRead(input)));

  let result: SinkResult = { written: 0, failed: 0, skipped: 0 };
  await pipeline(source, throughStages, async (records: AsyncIterable<Envelope>) => {
    result = await plan.writer(records);
  });
  stats.written = result.written;
  stats.failed = result.failed;
  stats.skipped = result.skipped;
  stats.elapsedMs = performance.now() - started;
  stats.interrupted = ctx.signal.aborted;
  return stats;
}

export function exitCodeOf(stats: RunStats): number {
  if (stats.interrupted) return 130;
  return stats.invalidRows > 0 || stats.failed > 0 ? 3 : 0;
}
