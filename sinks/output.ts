// Where a file sink writes: a file, or `-` for stdout. Shared by the ndjson and csv sinks.
//
// A file is written under a name of its own beside it and moved into place when the sink is done: the file it
// replaces stays whole until then, so a chain that reads and writes one file (`read csv users.csv | ... | write csv
// users.csv`) reads the export rather than an emptied file, and a run that stops short (a failed input, Ctrl-C) leaves
// it as it was (or not there), its own rows set aside in `<file>.partial`. A device, a named pipe or a link to nowhere
// is written in place; a file that must stay the same file (other names, another owner, a folder we cannot write in)
// is written through a private stand-in and copied into itself when the sink is done.
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, createReadStream, createWriteStream, lstatSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context, SinkResult } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import { counted } from '../pipelines/log.ts';

export interface Output {
  stream: Writable;
  /** Whether the pipeline ends the stream: a file is closed, stdout stays open for whoever writes next. */
  end: boolean;
  /**
   * Waits for the pipeline into `stream`, then asks how many rows (valid or not) it was given; then the file is in
   * place. If it fails, or no row came at all, the old file stays as it was.
   */
  finish(writing: Promise<void>, received: () => number): Promise<void>;
  /** The sink's result as the run reports it: a dry run wrote nothing, and says how many rows it would have written. */
  settle(result: SinkResult): SinkResult;
}

/**
 * A new output file is its owner's alone, as the ledger is: rows hold emails, and password hashes and TOTP secrets
 * (NDJSON, the WorkOS import CSV). A file replaced keeps the mode it had (a mode that lets others read it is warned of).
 */
const NEW_FILE_MODE = 0o600;

const asWritten = (result: SinkResult) => result;
const direct = async (writing: Promise<void>) => writing;

function unwritable(file: string, error: unknown): AuthpipeError {
  const reason = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new AuthpipeError('sink.file_unwritable', `cannot write output file ${file} (${reason})`);
}

/** The rows' writing, a failed write (a full disk: ENOSPC) naming the file; other failures (a stage's) as they are. */
async function written(writing: Promise<void>, file: string): Promise<void> {
  try {
    await writing;
  } catch (error) {
    throw (error as NodeJS.ErrnoException).syscall === 'write' ? unwritable(file, error) : error;
  }
}

function isWritable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * How the file is written: through a stand-in beside it moved into place (`rename`); through a private stand-in copied
 * into the file itself, when the file must stay the same file (other names, another owner, a folder we cannot write
 * in: `copy`); or as it is (`direct`: a device, a named pipe, a link to nowhere, a file we may not write).
 */
function writingOf(absolute: string): { how: 'rename' | 'copy'; target: string; existing: Stats | undefined } | { how: 'direct' } {
  const link = lstatSync(absolute, { throwIfNoEntry: false });
  if (link === undefined) return isWritable(path.dirname(absolute)) ? { how: 'rename', target: absolute, existing: undefined } : { how: 'direct' };
  const existing = statSync(absolute, { throwIfNoEntry: false });
  if (existing === undefined || !existing.isFile()) return { how: 'direct' };
  const target = link.isSymbolicLink() ? realpathSync(absolute) : absolute;
  if (!isWritable(target)) return { how: 'direct' };
  const ours = existing.nlink === 1 && existing.uid === process.getuid?.() && isWritable(path.dirname(target));
  return { how: ours ? 'rename' : 'copy', target, existing };
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already moved into place, or never written.
  }
}

/** A stand-in's name up to the process id of the run writing it. */
const standInPrefix = (target: string) => `.${path.basename(target)}.authpipe-`;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: a process of another user has that id now, so it is running.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the stand-ins of `target` left by runs killed before they were done (SIGKILL, a crash, a power cut): half an
 * output, whose rows may hold password hashes, hidden beside the file. One whose run still goes is left alone.
 */
function removeAbandonedStandIns(folder: string, target: string, ctx: Context): void {
  const prefix = standInPrefix(target);
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => name.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-[\da-f]+$/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    unlinkQuietly(path.join(folder, name));
    ctx.log.info(`removed ${path.join(folder, name)}, what a run killed while writing ${target} had written`);
  }
}

/** Removes a stand-in left when the process ends before the sink is done (a second Ctrl-C): it may hold hashes. */
function removedAtExit(file: string): () => void {
  const remove = () => unlinkQuietly(file);
  process.once('exit', remove);
  return () => process.off('exit', remove);
}

/** The output of a file sink, which keeps no ledger: one named for the run would pass for one kept. */
export function openSinkOutput(outputPath: string, ctx: Context): Promise<Output> {
  if (ctx.ledgerPath !== undefined) {
    const written = outputPath === '-' ? 'stdout' : path.resolve(ctx.baseDir, outputPath);
    ctx.log.warn(`the ledger ${ctx.ledgerPath} is kept by the workos sink only: this run writes ${written} and records nothing in it`);
  }
  return openOutput(outputPath, ctx);
}

/**
 * Opens the file (or its stand-in) at once, so a bad path fails with a coded error before any row. `rows` names what the
 * file holds, for the messages that say where it is.
 */
export async function openOutput(outputPath: string, ctx: Context, rows = 'rows written'): Promise<Output> {
  const absolute = outputPath === '-' ? 'stdout' : path.resolve(ctx.baseDir, outputPath);
  if (ctx.dryRun) {
    // A dry run goes through the sink (its rows are counted) and leaves the destination as it was.
    const settle = (result: SinkResult) => {
      ctx.log.info(`dry run: ${counted(result.written, 'row')} would be written to ${absolute}; nothing was written`);
      return { ...result, written: 0 };
    };
    return { stream: new Writable({ write: (_chunk, _encoding, done) => done() }), end: true, finish: direct, settle };
  }
  if (outputPath === '-') return { stream: process.stdout, end: false, finish: direct, settle: asWritten };
  try {
    const writing = writingOf(absolute);
    if (writing.how === 'direct') {
      const handle = await open(absolute, 'w', NEW_FILE_MODE);
      return { stream: handle.createWriteStream(), end: true, finish: (writing) => written(writing, absolute), settle: asWritten };
    }
    const { how, target, existing } = writing;
    // A name no one else can have planted (`wx` never follows a link), readable by its owner only until it is whole.
    const folder = how === 'rename' ? path.dirname(target) : os.tmpdir();
    removeAbandonedStandIns(folder, target, ctx);
    const standIn = path.join(folder, `${standInPrefix(target)}${process.pid}-${randomBytes(6).toString('hex')}`);
    const handle = await open(standIn, 'wx', 0o600);
    const mode = existing === undefined ? NEW_FILE_MODE : existing.mode & 0o7777;
    if ((mode & 0o077) !== 0) {
      ctx.log.warn(`${absolute} keeps its mode (${(mode & 0o777).toString(8)}), which lets others read it, and its rows hold emails and may hold password hashes: \`chmod 600\` it, or write a new file`);
    }
    const keepRemoving = removedAtExit(standIn);
    const finish = async (writing: Promise<void>, received: () => number) => {
      try {
        await written(writing, absolute);
      } catch (error) {
        unlinkQuietly(standIn);
        keepRemoving();
        throw error;
      }
      const stoppedShort = ctx.signal.aborted || ctx.incomplete.signal.aborted;
      try {
        if (received() === 0 && existing !== undefined && !stoppedShort) {
          // In a chain, a verb before this one that failed at its start (a missing file) ends this one's input with
          // nothing in it, just as an empty export does: an earlier output is worth more than an empty file.
          unlinkQuietly(standIn);
          ctx.log.warn(`no rows came in: ${absolute} is left as it was (if a command before this one failed, its message says why)`);
        } else if (stoppedShort) {
          // Under its own name, so that no one takes a part for the whole: beside the file when it may be, else where
          // the stand-in is, still its owner's alone.
          const partial = how === 'rename' ? `${target}.partial` : `${standIn}.partial`;
          if (how === 'rename') chmodSync(standIn, mode);
          renameSync(standIn, partial);
          const kept = existing === undefined ? 'is not written' : 'is left as it was';
          ctx.log.warn(`the run stopped short: ${absolute} ${kept}; the ${rows} so far are in ${partial}`);
        } else if (how === 'rename') {
          chmodSync(standIn, mode);
          renameSync(standIn, target);
          // What an earlier run that stopped short set aside is superseded now; it may hold password hashes.
          unlinkQuietly(`${target}.partial`);
          ctx.log.info(`the ${rows} are in ${absolute}`);
        } else {
          // The file itself is rewritten: its other names, owner and mode stay.
          await pipeline(createReadStream(standIn), createWriteStream(target));
          unlinkQuietly(standIn);
          ctx.log.info(`the ${rows} are in ${absolute}`);
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
