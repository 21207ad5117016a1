// Where a file sink writes: a file, or `-` for stdout. Shared by the ndjson and csv sinks.
//
// A file is written under a name of its own beside it and moved into place when the sink is done: the file it
// replaces stays whole until then, so a chain that reads and writes one file (`read csv users.csv | ... | write csv
// users.csv`) reads the export rather than an emptied file, and a run that stops short (a failed input, Ctrl-C) leaves
// it as it was (or not there), its own rows set aside in `<file>.partial`. A file that is not simply ours to replace (a device, a
// named pipe, a link to nowhere, another user's file, one with other names) is written in place, as it always was.
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, lstatSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
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

function isWritable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The file to replace through a stand-in, or undefined when it is written in place. */
function replaceable(absolute: string): { target: string; existing: Stats | undefined } | undefined {
  const link = lstatSync(absolute, { throwIfNoEntry: false });
  if (link === undefined) return isWritable(path.dirname(absolute)) ? { target: absolute, existing: undefined } : undefined;
  const existing = statSync(absolute, { throwIfNoEntry: false });
  if (existing === undefined || !existing.isFile() || existing.nlink > 1 || existing.uid !== process.getuid?.()) return undefined;
  const target = link.isSymbolicLink() ? realpathSync(absolute) : absolute;
  return isWritable(target) && isWritable(path.dirname(target)) ? { target, existing } : undefined;
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already moved into place, or never written.
  }
}

/** Removes a stand-in left when the process ends before the sink is done (a second Ctrl-C): it may hold hashes. */
function removedAtExit(file: string): () => void {
  const remove = () => unlinkQuietly(file);
  process.once('exit', remove);
  return () => process.off('exit', remove);
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
  try {
    const replacing = replaceable(absolute);
    if (replacing === undefined) {
      const handle = await open(absolute, 'w');
      return { stream: handle.createWriteStream(), end: true, finish: direct, settle: asWritten };
    }
    const { target, existing } = replacing;
    // A name no one else can have planted (`wx` never follows a link), readable by its owner only until it is whole.
    const standIn = path.join(path.dirname(target), `.${path.basename(target)}.authpipe-${randomBytes(6).toString('hex')}`);
    const handle = await open(standIn, 'wx', 0o600);
    const mode = existing === undefined ? 0o666 & ~process.umask() : existing.mode & 0o7777;
    const keepRemoving = removedAtExit(standIn);
    const finish = async (writing: Promise<void>) => {
      try {
        await writing;
      } catch (error) {
        unlinkQuietly(standIn);
        keepRemoving();
        throw error;
      }
      try {
        chmodSync(standIn, mode);
        if (ctx.signal.aborted || ctx.incomplete.signal.aborted) {
          // Under its own name, so that no one takes a part for the whole.
          renameSync(standIn, `${target}.partial`);
          const kept = existing === undefined ? 'is not written' : 'is left as it was';
          ctx.log.warn(`the run stopped short: ${absolute} ${kept}; the rows this run wrote are in ${target}.partial`);
        } else {
          renameSync(standIn, target);
        }
      } catch (error) {
        unlinkQuietly(standIn);
        throw unwritable(absolute, error);
      } finally {
        keepRemoving();
      }
    };
    return { stream: handle.createWriteStream(), end: true, finish, settle: asWritten };
  } catch (error) {
    throw unwritable(absolute, error);
  }
}
