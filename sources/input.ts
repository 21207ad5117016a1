// Opening the input of a file source: a path, or `-` for stdin. Shared by the csv, ndjson and json sources.
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { Context } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import { markedEncoding } from './byte-order-marks.mjs';

export interface Input {
  stream: Readable;
  /** How origins and messages name the input: the path as written (relative to the base folder), or `stdin`. */
  name: string;
}

function hasErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** Opens the file before any row is read, so a missing or unreadable file fails with a coded error at once. */
export async function openInput(inputPath: string, ctx: Context): Promise<Input> {
  if (inputPath === '-') return { stream: process.stdin, name: 'stdin' };
  const absolute = path.resolve(ctx.baseDir, inputPath);
  const name = path.relative(ctx.baseDir, absolute);
  let handle: FileHandle;
  try {
    handle = await open(absolute, 'r');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) throw new AuthpipeError('source.file_not_found', `input file not found: ${absolute}`);
    if (hasErrnoCode(error, 'EACCES')) throw new AuthpipeError('source.file_unreadable', `input file is not readable: ${absolute}`);
    throw error;
  }
  // Opening a folder succeeds on Linux; only the first read would fail, with a message that names no file.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new AuthpipeError('source.file_unreadable', `input path is a folder, not a file: ${absolute}`);
  }
  return { stream: handle.createReadStream(), name };
}

/**
 * The input as text: UTF-8, or UTF-16 when it opens with that byte order mark (what Windows PowerShell's `>` and
 * `Out-File` write), which is dropped. Bytes that do not decode become U+FFFD.
 */
export async function* textOf(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  for await (const chunk of stream) {
    // A UTF-8 decoder drops a UTF-8 mark by itself; a UTF-16 mark names the decoder, which drops it too.
    decoder ??= new TextDecoder(markedEncoding(chunk) ?? 'utf-8');
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder?.decode() ?? '';
  if (rest !== '') yield rest;
}
