// Gzip decompression that knows where each member ends, as gzip(1) does. Node's gunzip takes whatever follows a member
// for the next one: bytes that are not one (a tool's trailing garbage) fail it, and the text it had decompressed from
// the same write is lost with them, rows whole in the file among it. Here each member's deflate data goes through a
// raw inflater, which stops at the data's end and says how much it took; the header and the trailer (checksum and
// length, checked) are read here. Members follow one another (`cat a.gz b.gz`); zeros after the last are padding;
// anything else after it is told of and left unread, once every row before it is out.
import { Transform, type TransformCallback } from 'node:stream';
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';

const MAGIC = [0x1f, 0x8b] as const;
const DEFLATE = 8;
const FIXED_HEADER = 10;
const TRAILER = 8;
/** A header longer than this (a file name or comment that never ends) is not a header. */
const MAX_HEADER = 64 * 1024;
const FLAG = { headerCrc: 2, extra: 4, name: 8, comment: 16 } as const;

/** The length of the member header that `bytes` opens with; undefined while more bytes are needed. */
function headerLength(bytes: Buffer): number | undefined {
  if (bytes.length < FIXED_HEADER) return undefined;
  const flags = bytes[3] ?? 0;
  let at = FIXED_HEADER;
  if (flags & FLAG.extra) {
    if (bytes.length < at + 2) return undefined;
    at += 2 + bytes.readUInt16LE(at);
  }
  for (const flag of [FLAG.name, FLAG.comment]) {
    if ((flags & flag) === 0) continue;
    const end = bytes.indexOf(0, at);
    if (end === -1) return undefined;
    at = end + 1;
  }
  if (flags & FLAG.headerCrc) at += 2;
  return bytes.length < at ? undefined : at;
}

type State = 'header' | 'data' | 'trailer' | 'padding' | 'ignored';

export class GzipMembers extends Transform {
  private state: State = 'header';
  /** Bytes of a header or trailer, held until it is whole. */
  private held: Buffer = Buffer.alloc(0);
  private members = 0;
  private inflater: InflateRaw | undefined;
  private ended: Promise<void> = Promise.resolve();
  private given = 0;
  private checksum = 0;
  private length = 0;

  /** `onTrailingBytes` hears once of bytes after the last member that are neither a member nor zeros. */
  constructor(private readonly onTrailingBytes: () => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.readBytes(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (this.state === 'padding' || this.state === 'ignored' || (this.state === 'header' && this.members > 0 && this.held.length === 0)) return done();
    done(new Error('unexpected end of file'));
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.inflater?.destroy();
    done(error);
  }

  private async readBytes(chunk: Buffer): Promise<void> {
    let bytes: Buffer = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    while (bytes.length > 0) {
      if (this.state === 'header') {
        if (this.members > 0 && !this.opensMember(bytes)) {
          this.state = 'padding';
          continue;
        }
        if (bytes.length >= 3 && (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== DEFLATE)) throw new Error('incorrect header check');
        const length = headerLength(bytes);
        if (length === undefined) {
          if (bytes.length > MAX_HEADER) throw new Error('a member header that does not end');
          this.held = bytes;
          return;
        }
        this.startMember();
        bytes = bytes.subarray(length);
      } else if (this.state === 'data') {
        const rest = await this.inflate(bytes);
        if (rest === undefined) return;
        bytes = rest;
      } else if (this.state === 'trailer') {
        if (bytes.length < TRAILER) {
          this.held = bytes;
          return;
        }
        if (bytes.readUInt32LE(0) !== this.checksum >>> 0 || bytes.readUInt32LE(4) !== this.length >>> 0) throw new Error('the data does not match its checksum');
        this.members++;
        this.state = 'header';
        bytes = bytes.subarray(TRAILER);
      } else if (this.state === 'padding') {
        if (bytes.some((byte) => byte !== 0)) {
          this.state = 'ignored';
          this.onTrailingBytes();
        }
        return;
      } else {
        return;
      }
    }
  }

  /** Whether bytes after a member may open another: its magic, as far as there are bytes. */
  private opensMember(bytes: Buffer): boolean {
    return bytes[0] === MAGIC[0] && (bytes.length < 2 || bytes[1] === MAGIC[1]);
  }

  private startMember(): void {
    const inflater = createInflateRaw();
    inflater.on('data', (text: Buffer) => {
      this.checksum = crc32(text, this.checksum);
      this.length = (this.length + text.length) % 2 ** 32;
      this.push(text);
    });
    this.ended = new Promise((resolve, reject) => inflater.once('end', resolve).once('error', reject));
    // Heard through `ended` when it matters; unheard, an error event would end the process.
    this.ended.catch(() => undefined);
    this.inflater = inflater;
    this.given = 0;
    this.checksum = 0;
    this.length = 0;
    this.state = 'data';
  }

  /** Gives `bytes` to the member's inflater; what follows its data (trailer and on), or undefined if it took them all. */
  private async inflate(bytes: Buffer): Promise<Buffer | undefined> {
    const inflater = this.inflater as InflateRaw;
    this.given += bytes.length;
    await Promise.race([new Promise<void>((resolve) => inflater.write(bytes, () => resolve())), this.ended.then(() => undefined)]);
    const left = this.given - inflater.bytesWritten;
    if (left === 0 && !inflater.readableEnded) return undefined;
    // Every byte of the member's text is pushed before what follows it is looked at.
    await this.ended;
    this.state = 'trailer';
    return bytes.subarray(bytes.length - left);
  }
}
