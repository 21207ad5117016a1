// Where a file sink writes: a file, or `-` for stdout. Shared by the ndjson and csv sinks.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Context } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';

export interface Output {
  stream: Writable;
  /** Whether the pipeline ends the stream: a file is closed, stdout stays open for whoever writes next. */
  end: boolean;
}

/** Opens (creates or truncates) the file at once, so a bad path fails with a coded error before any row. */
export async function openOutput(outputPath: string, ctx: Context): Promise<Output> {
  const absolute = outputPath === '-' ? 'stdout' : path.resolve(ctx.baseDir, outputPath);
  if (ctx.dryRun) {
    // A dry run goes through the sink (its rows are counted) and leaves the destination as it was.
    ctx.log.info(`dry run: nothing is written to ${absolute}`);
    return { stream: new Writable({ write: (_chunk, _encoding, done) => done() }), end: true };
  }
  if (outputPath === '-') return { stream: process.stdout, end: false };
  try {
    const handle = await open(absolute, 'w');
    return { stream: handle.createWriteStream(), end: true };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AuthpipeError('sink.file_unwritable', `cannot write output file ${absolute} (${reason})`);
  }
}
