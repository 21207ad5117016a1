// Opening the input of a file source: a path, or `-` for stdin. Shared by the csv, ndjson and json sources.
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { finished, pipeline, Transform, type Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { Context } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import type { Logger } from '../pipelines/log.ts';
import { markedEncoding } from './byte-order-marks.mjs';
import { GzipMembers } from './gzip-members.ts';
import { Utf8Check } from './utf8-check.mjs';

export interface Input {
  stream: Readable;
  /** How origins and messages name the input: the path as written (relative to the base folder), or `stdin`. */
  name: string;
  /** The share of a file read so far (0 to 1), as its bytes (compressed, for gzip) are taken; none for stdin. */
  share?: () => number;
}

function hasErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function isGzip(chunk: Buffer): boolean {
  return chunk[0] === 0x1f && chunk[1] === 0x8b;
}

/** Formats a source is sometimes handed but cannot read, by their first bytes, with what to do instead. */
const UNREAD_FORMATS: readonly { magic: readonly number[]; what: string }[] = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive (an Excel .xlsx workbook is one too): save it as CSV, or unzip it first' },
  { magic: [0xd0, 0xcf, 0x11, 0xe0], what: 'an old Excel (.xls) workbook: save it as CSV first' },
  { magic: [0xfd, 0x37, 0x7a, 0x58], what: 'xz-compressed: decompress it first (xz -d); gzip is read as it is' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed: decompress it first (zstd -d); gzip is read as it is' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed: decompress it first (bunzip2); gzip is read as it is' },
];

/** Bytes held before deciding what the input is: enough for the longest magic number above. */
const OPENING_BYTES = 4;

function unreadFormat(bytes: Buffer): string | undefined {
  return UNREAD_FORMATS.find(({ magic }) => magic.every((byte, index) => bytes[index] === byte))?.what;
}

/**
 * Passes the input's bytes through, or decompresses them as they stream when it is gzip (Auth0's export jobs write
 * it; so does `gzip`), told by its first two bytes rather than its name. A Transform rather than a generator: a
 * stopped run must be able to end it while stdin waits for bytes that never come.
 */
function gunzipIfCompressed(name: string, counted: { bytes: number }, log: Logger): Transform {
  /** The first bytes, held until there are enough to tell the format by (a pipe may hand over one byte at a time). */
  let opening: Buffer | undefined = Buffer.alloc(0);
  let gunzip: GzipMembers | undefined;
  const decide = (bytes: Buffer) => {
    const unread = unreadFormat(bytes);
    if (unread !== undefined) throw new AuthpipeError('source.unreadable_format', `${name} is ${unread}`);
    if (isGzip(bytes)) gunzip = startGunzip();
    opening = undefined;
  };
  const pass = (bytes: Buffer, done: () => void) => {
    // The callback comes once the chunk is decompressed and its bytes pushed: one chunk's worth is held at most.
    // Once the last member and the zeros or bytes after it are read, the rest is left unread.
    if (gunzip === undefined) {
      output.push(bytes);
      done();
    } else if (gunzip.writableEnded || gunzip.readableEnded) done();
    else gunzip.write(bytes, () => done());
  };
  const output = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counted.bytes += chunk.length;
      if (opening === undefined) return pass(chunk, done);
      const bytes = Buffer.concat([opening, chunk]);
      if (bytes.length < OPENING_BYTES) {
        opening = bytes;
        return done();
      }
      try {
        decide(bytes);
      } catch (error) {
        return done(error as Error);
      }
      pass(bytes, done);
    },
    flush(done) {
      if (opening !== undefined && opening.length > 0) {
        // Fewer bytes than it takes to tell a format by: a gzip stream is longer still, so this is the text itself.
        const rest = opening;
        opening = undefined;
        output.push(rest);
      }
      if (gunzip === undefined) return done();
      // A fault found at the end (a file cut short) fails the output instead of ending it: see failOnceRead.
      finished(gunzip, (error) => {
        if (!error) done();
      });
      gunzip.end();
    },
    destroy(error, callback) {
      gunzip?.destroy();
      callback(error);
    },
  });
  /**
   * Bytes decompressed before a fault hold the rows before it: the reader takes them all before it learns of the
   * fault, which destroying the output at once would throw away with them.
   */
  function failOnceRead(error: Error): void {
    const failure = new AuthpipeError('source.bad_gzip', `${name}: the gzip data cannot be read (${error.message})`);
    const whenRead = () => (output.readableLength === 0 || output.destroyed ? output.destroy(failure) : setTimeout(whenRead, 5));
    whenRead();
  }
  function startGunzip(): GzipMembers {
    const started = new GzipMembers(() => log.warn(`${name}: the bytes after the end of its gzip data are not gzip; they are left unread (every row before them is read)`));
    started.on('data', (bytes: Buffer) => output.push(bytes));
    started.on('error', failOnceRead);
    return started;
  }
  return output;
}

function openedInput(stream: Readable, name: string, log: Logger, size?: number): Input {
  const counted = { bytes: 0 };
  // Errors of either side reach whoever reads the output; ending it early ends the input too.
  const input: Input = { stream: pipeline(stream, gunzipIfCompressed(name, counted, log), () => undefined), name };
  return size === undefined ? input : { ...input, share: () => (size === 0 ? 1 : Math.min(1, counted.bytes / size)) };
}

/** Opens the file before any row is read, so a missing or unreadable file fails with a coded error at once. */
export async function openInput(inputPath: string, ctx: Context): Promise<Input> {
  if (inputPath === '-') return openedInput(process.stdin, 'stdin', ctx.log);
  const absolute = path.resolve(ctx.baseDir, inputPath);
  // Messages name the file as the pipeline file (or the command line) reaches it; one outside that folder by its
  // absolute path: `../../tmp/users.csv` would be read from wherever the person stands.
  const relative = path.relative(ctx.baseDir, absolute);
  const outside = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  const name = outside ? absolute : relative;
  let handle: FileHandle;
  try {
    handle = await open(absolute, 'r');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) throw new AuthpipeError('source.file_not_found', `input file not found: ${absolute}`);
    if (hasErrnoCode(error, 'EACCES')) throw new AuthpipeError('source.file_unreadable', `input file is not readable: ${absolute}`);
    throw error;
  }
  // Opening a folder succeeds on Linux; only the first read would fail, with a message that names no file.
  const stats = await handle.stat();
  if (stats.isDirectory()) {
    await handle.close();
    throw new AuthpipeError('source.file_unreadable', `input path is a folder, not a file: ${absolute}`);
  }
  // A FIFO or a device has no size to measure progress by.
  return openedInput(handle.createReadStream(), name, ctx.log, stats.isFile() ? stats.size : undefined);
}

/** Why a record holding REPLACEMENT_CHARACTER (from pipelines/record.ts) is refused. */
export const UNDECODED_REASON = 'has bytes that are not UTF-8 (read as U+FFFD); save the file as UTF-8';

/**
 * The encoding of JSON text without a byte order mark, by where its first characters' NUL bytes are (RFC 4627, section
 * 3): JSON opens with ASCII (`{`, `[`, a space), which UTF-16 writes as a NUL and a byte. Notepad's "Unicode" without
 * its mark, or a UTF-16 file cut from a larger one, is read as what it is rather than as lines of NULs.
 */
function unmarkedJsonEncoding(first: Buffer): string | undefined {
  if (first.length < 4) return undefined;
  if (first[0] !== 0 && first[1] === 0 && first[2] !== 0 && first[3] === 0) return 'utf-16le';
  if (first[0] === 0 && first[1] !== 0 && first[2] === 0 && first[3] !== 0) return 'utf-16be';
  return undefined;
}

/** What the reader of textOf learns as it goes: whether a U+FFFD in the text may stand for bytes that did not decode. */
export interface Decoding {
  undecodable: boolean;
}

/**
 * JSON input as text: UTF-8, or UTF-16 when it opens with that byte order mark (what Windows PowerShell's `>` and
 * `Out-File` write), which is dropped, or without one (unmarkedJsonEncoding). Bytes that do not decode become U+FFFD,
 * and `decoding` says so before the text holding them is given (UTF-16 is not checked: any U+FFFD may be one).
 */
export async function* textOf(stream: AsyncIterable<Buffer>, decoding: Decoding = { undecodable: false }): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  let check: Utf8Check | undefined;
  for await (const chunk of stream) {
    if (decoder === undefined) {
      // A UTF-8 decoder drops a UTF-8 mark by itself; a UTF-16 mark names the decoder, which drops it too.
      decoder = new TextDecoder(markedEncoding(chunk) ?? unmarkedJsonEncoding(chunk) ?? 'utf-8');
      if (decoder.encoding === 'utf-8') check = new Utf8Check();
      else decoding.undecodable = true;
    }
    check?.take(chunk);
    const text = decoder.decode(chunk, { stream: true });
    if (check?.sawUndecodable) decoding.undecodable = true;
    if (text !== '') yield text;
  }
  check?.end();
  if (check?.sawUndecodable) decoding.undecodable = true;
  const rest = decoder?.decode() ?? '';
  if (rest !== '') yield rest;
}
