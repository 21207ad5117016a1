// Where a file sink writes: a file, or `-` for stdout. Shared by the ndjson and csv sinks.
//
// A file is written under a name of its own beside it and moved into place when the sink is done: the file it
// replaces stays whole until then, so a chain that reads and writes one file (`read csv users.csv | ... | write csv
// users.csv`) reads the export rather than an emptied file, and a failed write leaves the old file as it was.
import { realpathSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Context, SinkResult } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';

export interface Output {
  stream: Writable;
  /** Whether the pipeline ends the stream: a file is closed, stdout stays open for whoever writes next. */
  end: boolean;
  /** Waits for the pipeline into `stream`; then the file is in place. If it fails, the old file stays as it was. */
  finish(writing: Promise<void>): Promise<void>;
  /** The sink's result as the run reports it: a dry run wrote nothing, and says how many rows it would have written. */
  settle(result: SinkResult): SinkResult;
}

const asWritten = (result: SinkResult) => result;
const direct = async (writing: Promise<void>) => writing;

function unwritable(file: string, error: unknown): AuthpipeError {
  const reason = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new AuthpipeError('sink.file_unwritable', `cannot write output file ${file} (${reason})`);
}

/** Opens the file (or its stand-in) at once, so a bad path fails with a coded error before any row. */
export async function openOutput(outputPath: string, ctx: Context): Promise<Output> {
  const absolute = outputPath === '-' ? 'stdout' : path.resolve(ctx.baseDir, outputPath);
  if (ctx.dryRun) {
    // A dry run goes through the sink (its rows are counted) and leaves the destination as it was.
    const settle = (result: SinkResult) => {
      ctx.log.info(`dry run: ${result.written} ${result.written === 1 ? 'row' : 'rows'} would be written to ${absolute}; nothing was`);
      return { ...result, written: 0 };
    };
    return { stream: new Writable({ write: (_chunk, _encoding, done) => done() }), end: true, finish: direct, settle };
  }
  if (outputPath === '-') return { stream: process.stdout, end: false, finish: direct, settle: asWritten };
  const existing = statSync(absolute, { throwIfNoEntry: false });
  try {
    // A device or a named pipe (/dev/null, a FIFO another program reads) is written as it is.
    if (existing !== undefined && !existing.isFile()) {
      const handle = await open(absolute, 'w');
      return { stream: handle.createWriteStream(), end: true, finish: direct, settle: asWritten };
    }
    // Through a link, the file it points to is the one replaced.
    const target = existing === undefined ? absolute : realpathSync(absolute);
    const partial = path.join(path.dirname(target), `.${path.basename(target)}.authpipe-${process.pid}`);
    const handle = await open(partial, 'w', existing === undefined ? 0o666 : existing.mode & 0o777);
    const finish = async (writing: Promise<void>) => {
      try {
        await writing;
      } catch (error) {
        unlinkSync(partial);
        throw error;
      }
      try {
        renameSync(partial, target);
      } catch (error) {
        unlinkSync(partial);
        throw unwritable(absolute, error);
      }
    };
    return { stream: handle.createWriteStream(), end: true, finish, settle: asWritten };
  } catch (error) {
    throw unwritable(absolute, error);
  }
}
