// Where a file sink writes: a file, or `-` for stdout. Shared by the ndjson and csv sinks.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Context, SinkResult } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';

export interface Output {
  stream: Writable;
  /** Whether the pipeline ends the stream: a file is closed, stdout stays open for whoever writes next. */
  end: boolean;
  /** The sink's result as the run reports it: a dry run wrote nothing, and says how many rows it would have written. */
  settle(result: SinkResult): SinkResult;
}

const asWritten = (result: SinkResult) => result;

/** Opens (creates or truncates) the file at once, so a bad path fails with a coded error before any row. */
export async function openOutput(outputPath: string, ctx: Context): Promise<Output> {
  const absolute = outputPath === '-' ? 'stdout' : path.resolve(ctx.baseDir, outputPath);
  if (ctx.dryRun) {
    // A dry run goes through the sink (its rows are counted) and leaves the destination as it was.
    const settle = (result: SinkResult) => {
      ctx.log.info(`dry run: ${result.written} ${result.written === 1 ? 'row' : 'rows'} would be written to ${absolute}; nothing was`);
      return { ...result, written: 0 };
    };
    return { stream: new Writable({ write: (_chunk, _encoding, done) => done() }), end: true, settle };
  }
  if (outputPath === '-') return { stream: process.stdout, end: false, settle: asWritten };
  try {
    const handle = await open(absolute, 'w');
    return { stream: handle.createWriteStream(), end: true, settle: asWritten };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AuthpipeError('sink.file_unwritable', `cannot write output file ${absolute} (${reason})`);
  }
}
