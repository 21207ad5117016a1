// Which values a stream has already claimed, answered exactly, in fixed memory, whatever the stream's length.
//
// An SQLite B-tree did this with one insert per value; with random keys (real Clerk ids) and a cache small enough
// to keep memory flat, nearly every insert missed the cache, and a million rows spent 16 s there. Here nearly every
// value is answered in memory, and the disk is only ever written sequentially:
// - a blocked Bloom filter of fixed size says "never claimed" for nearly every new value;
// - the latest claims sit in typed arrays and a byte arena; when those are full they go to disk in one pass: the
//   arena appended to a values file, the fingerprints sorted into a run file, every FENCE_SPACING-th one kept in
//   memory as a fence;
// - only when the filter says "maybe" (a real duplicate, or a rare false positive) are the runs searched: one block
//   read per run, then the stored text is read back and compared, so an answer is never a guess;
// - runs are merged by size, `runsPerMerge` of one size into one of the next (size-tiered, as in LSM trees): each
//   entry is rewritten about log(rows) times in all, rather than at every merge as when all runs were merged into
//   one; a search reads at most `runsPerMerge` blocks per size.
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AuthpipeError } from '../../pipelines/errors.ts';
import { describeOrigin, type Origin } from '../../pipelines/record.ts';

export type ClaimKind = 'email' | 'externalId';

export interface Claim {
  kind: ClaimKind;
  value: string;
}

/** Per kind: the seed of its hashes, and the digit stored in front of its values. */
const KIND_CODES: Record<ClaimKind, number> = { email: 0, externalId: 1 };

/**
 * 16 MiB: about 64 bits per value at a million rows (false positives near one in a million) and still about 6 bits
 * at ten million (about 5%, each costing one search of the runs).
 */
const FILTER_BLOCK_BITS = 18;
const WORDS_PER_BLOCK = 16;
const FILTER_PROBES = 6;

export interface ClaimIndexLimits {
  /** Claims held in memory before they go to disk: a power of two, at most SLOT_RANGE. */
  recentClaims: number;
  /** Runs of one size that are merged into one run of the next size. */
  runsPerMerge: number;
}

const DEFAULT_LIMITS: ClaimIndexLimits = { recentClaims: 65_536, runsPerMerge: 16 };
/** A sort key holds a slot number below this in its low bits. */
const SLOT_RANGE = 65_536;
const FENCE_SPACING = 256;
/** A run entry: fingerprint, then where in the values file its text is and its byte length, then its holder's two numbers. */
const ENTRY_FIELDS = 5;
const ENTRY_BYTES = ENTRY_FIELDS * Float64Array.BYTES_PER_ELEMENT;
/** Room for the recent claims' texts: about 30 bytes each for ordinary emails and ids. */
const ARENA_BYTES = 4 << 20;
/**
 * A holder is kept as two numbers. For a row with a line (nearly every row): its line, then this tag with the index of
 * its file's name in `ClaimIndex.files`; writing `users.csv:12` out per row cost a quarter of the index's time. For a
 * row without one (`users.json users[41]`): where its description starts in the values and how many bytes it takes.
 */
const LINE_HOLDER = 0x8000_0000;
const DIGIT_ZERO = 0x30;
const RECORD_FIELDS = 4;
const MERGE_CHUNK_ENTRIES = 4096;

const hashes = new Uint32Array(2);

/**
 * Two independent 32-bit hashes of the text (FNV-1a and a multiply-xorshift mix), finished so every bit avalanches,
 * into `hashes`. The same pass copies the text into `target` at `position` as long as it is ASCII (one byte per
 * unit): a Buffer.write call per value cost more than the loop. Returns whether the whole text was copied.
 */
function hashAndCopy(seed: number, text: string, target: Uint8Array, position: number): boolean {
  let first = 0x811c9dc5 ^ seed;
  let second = 0x9747b28c ^ seed;
  let ascii = true;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
    second ^= second >>> 15;
    if (code > 0x7f) ascii = false;
    else target[position + index] = code;
  }
  hashes[0] = finish(first);
  hashes[1] = finish(second);
  return ascii;
}

function finish(hash: number): number {
  let mixed = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
  return mixed ^ (mixed >>> 16);
}

/** 36 bits: enough that a search rarely reads back a value that only shares its fingerprint, small enough to sort with a slot. */
function fingerprintOf(first: number, second: number): number {
  return (first & 0xf) * 0x1_0000_0000 + (second >>> 0);
}

/** Sets the value's bits in the filter; true when they were all set already (the value may have been claimed). */
function testAndSet(filter: Uint32Array, first: number, second: number): boolean {
  const block = (first >>> (32 - FILTER_BLOCK_BITS)) * WORDS_PER_BLOCK;
  const step = (second >>> 9) | 1;
  let present = true;
  for (let probe = 0; probe < FILTER_PROBES; probe++) {
    const bit = (second + probe * step) & (WORDS_PER_BLOCK * 32 - 1);
    const word = block + (bit >>> 5);
    const mask = 1 << (bit & 31);
    if ((filter[word] & mask) === 0) {
      present = false;
      filter[word] |= mask;
    }
  }
  return present;
}

/** First index whose fence is at least (or, with `after`, greater than) the fingerprint. */
function fenceBound(fences: Float64Array, fingerprint: number, after: boolean): number {
  let low = 0;
  let high = fences.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (fences[middle] < fingerprint || (after && fences[middle] === fingerprint)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** writeSync may write less than asked (a disk filling up): the rest is retried, or its error thrown. */
function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

interface Run {
  file: string;
  fd: number;
  entries: number;
  /** The fingerprint of every FENCE_SPACING-th entry. */
  fences: Float64Array;
  /** 0 for a run written by a flush; one more than its inputs' for a merged run. */
  size: number;
}

/** Reads a run's entries in order, a chunk at a time. */
class RunReader {
  private readonly chunk = new Float64Array(MERGE_CHUNK_ENTRIES * ENTRY_FIELDS);
  private loaded = 0;
  private next = 0;
  private consumed = 0;

  constructor(private readonly run: Run) {
    this.load();
  }

  get done(): boolean {
    return this.next === this.loaded;
  }

  get fingerprint(): number {
    return this.chunk[this.next * ENTRY_FIELDS];
  }

  /** Copies the current entry into `target` at entry `index`, then moves on. */
  takeInto(target: Float64Array, index: number): void {
    for (let field = 0; field < ENTRY_FIELDS; field++) target[index * ENTRY_FIELDS + field] = this.chunk[this.next * ENTRY_FIELDS + field];
    this.next++;
    if (this.next === this.loaded) this.load();
  }

  private load(): void {
    const count = Math.min(MERGE_CHUNK_ENTRIES, this.run.entries - this.consumed);
    readSync(this.run.fd, new Uint8Array(this.chunk.buffer, 0, count * ENTRY_BYTES), 0, count * ENTRY_BYTES, this.consumed * ENTRY_BYTES);
    this.consumed += count;
    this.loaded = count;
    this.next = 0;
  }
}

export class ClaimIndex {
  private readonly filter = new Uint32Array((1 << FILTER_BLOCK_BITS) * WORDS_PER_BLOCK);
  // The recent claims live in typed arrays and one byte arena, not in JS objects: objects that outlive a few
  // thousand rows are promoted to the old generation and die there at every flush, and the heap grew by tens of MB.
  /** Open addressing over slots, at most half full: slot + 1, or 0 for an empty place. */
  private readonly table: Int32Array;
  private readonly slotHashes: Uint32Array;
  /** Per slot: where its text starts in the arena and its byte length, then its holder's two numbers (RECORD_FIELDS). */
  private readonly slotRecords: Uint32Array;
  /** 0 for a slot whose claim was released. */
  private readonly slotLive: Uint8Array;
  private slotsUsed = 0;
  /** The recent claims' texts (kind code, then value) and the descriptions of holders without a line, as the values file stores them. */
  private arena = Buffer.allocUnsafe(ARENA_BYTES);
  /** The names of the files rows came from, as their holders describe them, and each one's place in that list. */
  private readonly files: string[] = [];
  private readonly fileIndexes = new Map<string, number>();
  private arenaUsed = 0;
  private readonly runs: Run[] = [];
  private runsMade = 0;
  private readonly valuesFd: number;
  private valuesSize = 0;

  /** Keeps its files in `folder`, which the caller creates and removes. Tests shrink the limits to reach flushes and merges. */
  constructor(
    private readonly folder: string,
    private readonly limits: ClaimIndexLimits = DEFAULT_LIMITS,
  ) {
    this.table = new Int32Array(limits.recentClaims * 2);
    this.slotHashes = new Uint32Array(limits.recentClaims * 2);
    this.slotRecords = new Uint32Array(limits.recentClaims * RECORD_FIELDS);
    this.slotLive = new Uint8Array(limits.recentClaims);
    this.valuesFd = openSync(path.join(folder, 'values'), 'w+', 0o600);
  }

  /**
   * Claims the row's values, all or none. Per value: where it was claimed first, or undefined where the row now
   * holds it. When any value was taken the row holds none of them, so a later row may rightly claim the others.
   */
  claimRow(claims: readonly Claim[], origin: Origin): (string | undefined)[] {
    // A line a slot cannot hold (a hand-edited envelope's, past 2^32 or below 0) is kept as text like a page.
    const line = origin.line !== undefined && origin.line >>> 0 === origin.line ? origin.line : undefined;
    const holderText = line === undefined ? describeOrigin(origin) : '';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const bytesNeeded = claims.reduce((sum, claim) => sum + 1 + claim.value.length * 3, holderText.length * 3);
    if (this.slotsUsed + claims.length > this.limits.recentClaims || this.arenaUsed + bytesNeeded > this.arena.length) {
      this.flushOrFail();
      // Only a row with an absurdly long value gets here; the arena keeps its size afterwards.
      if (bytesNeeded > this.arena.length) this.arena = Buffer.allocUnsafe(bytesNeeded);
    }
    let holder: number;
    let holderTag: number;
    if (line === undefined) {
      holder = this.arenaUsed;
      holderTag = this.arena.write(holderText, holder);
      this.arenaUsed += holderTag;
    } else {
      holder = line;
      holderTag = LINE_HOLDER | this.fileIndex(origin.file ?? 'input');
    }
    const firstSlot = this.slotsUsed;
    const holders = claims.map((claim) => this.claim(claim, holder, holderTag));
    if (holders.some((taken) => taken !== undefined)) this.slotLive.fill(0, firstSlot, this.slotsUsed);
    return holders;
  }

  close(): void {
    closeSync(this.valuesFd);
    for (const run of this.runs) closeSync(run.fd);
  }

  private fileIndex(file: string): number {
    let index = this.fileIndexes.get(file);
    if (index === undefined) {
      index = this.files.push(file) - 1;
      this.fileIndexes.set(file, index);
    }
    return index;
  }

  /** The words for a holder kept as two numbers; `read` fetches a description kept as text. */
  private describeHolder(holder: number, holderTag: number, read: (offset: number, bytes: number) => string): string {
    return holderTag & LINE_HOLDER ? `${this.files[holderTag & ~LINE_HOLDER]}:${holder}` : read(holder, holderTag);
  }

  private claim({ kind, value }: Claim, holder: number, holderTag: number): string | undefined {
    const code = KIND_CODES[kind];
    const textStart = this.arenaUsed;
    const ascii = hashAndCopy(code, value, this.arena, textStart + 1);
    // Indexed rather than destructured: destructuring a typed array goes through its iterator.
    const first = hashes[0];
    const second = hashes[1];
    if (testAndSet(this.filter, first, second)) {
      const text = `${code}${value}`;
      const recentHolder = this.searchRecent(first, second, text);
      if (recentHolder !== undefined) return recentHolder;
      const storedHolder = this.searchRuns(fingerprintOf(first, second), text);
      if (storedHolder !== undefined) return storedHolder;
    }
    const slot = this.slotsUsed++;
    this.arena[textStart] = DIGIT_ZERO + code;
    const textBytes = 1 + (ascii ? value.length : this.arena.write(value, textStart + 1));
    this.arenaUsed += textBytes;
    this.slotHashes[slot * 2] = first;
    this.slotHashes[slot * 2 + 1] = second;
    const record = slot * RECORD_FIELDS;
    this.slotRecords[record] = textStart;
    this.slotRecords[record + 1] = textBytes;
    this.slotRecords[record + 2] = holder;
    this.slotRecords[record + 3] = holderTag;
    this.slotLive[slot] = 1;
    let place = second & (this.table.length - 1);
    while (this.table[place] !== 0) place = (place + 1) & (this.table.length - 1);
    this.table[place] = slot + 1;
    return undefined;
  }

  private searchRecent(first: number, second: number, text: string): string | undefined {
    for (let place = second & (this.table.length - 1); this.table[place] !== 0; place = (place + 1) & (this.table.length - 1)) {
      const slot = this.table[place] - 1;
      if (this.slotLive[slot] === 0 || this.slotHashes[slot * 2] !== first || this.slotHashes[slot * 2 + 1] !== second) continue;
      const record = slot * RECORD_FIELDS;
      const textStart = this.slotRecords[record];
      if (this.arena.toString('utf8', textStart, textStart + this.slotRecords[record + 1]) === text) {
        return this.describeHolder(this.slotRecords[record + 2], this.slotRecords[record + 3], (offset, bytes) => this.arena.toString('utf8', offset, offset + bytes));
      }
    }
    return undefined;
  }

  /** Where the stored record `text` (kind code, then value) was claimed, if any run holds it. */
  private searchRuns(fingerprint: number, text: string): string | undefined {
    for (const run of this.runs) {
      // Entries with this fingerprint start after the last fence below it and end before the first fence above it.
      const firstEntry = Math.max(0, fenceBound(run.fences, fingerprint, false) - 1) * FENCE_SPACING;
      const endEntry = Math.min(run.entries, fenceBound(run.fences, fingerprint, true) * FENCE_SPACING);
      const entries = new Float64Array((endEntry - firstEntry) * ENTRY_FIELDS);
      readSync(run.fd, new Uint8Array(entries.buffer), 0, entries.byteLength, firstEntry * ENTRY_BYTES);
      for (let entry = 0; entry < entries.length; entry += ENTRY_FIELDS) {
        if (entries[entry] !== fingerprint) continue;
        if (this.readValues(entries[entry + 1], entries[entry + 2]) === text) {
          return this.describeHolder(entries[entry + 3], entries[entry + 4], (offset, bytes) => this.readValues(offset, bytes));
        }
      }
    }
    return undefined;
  }

  private flushOrFail(): void {
    try {
      this.flush();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AuthpipeError('validate.index_unavailable', `the duplicate index cannot write to ${this.folder} (${reason})`);
    }
  }

  private readValues(offset: number, bytes: number): string {
    const text = Buffer.allocUnsafe(bytes);
    readSync(this.valuesFd, text, 0, bytes, offset);
    return text.toString('utf8');
  }

  /** Moves the recent claims to disk: the arena to the end of the values file, their entries sorted into a new run. */
  private flush(): void {
    // Sorting plain numbers is native and fast: each key is the fingerprint with the slot in its low 16 bits.
    const keys = new Float64Array(this.slotsUsed);
    let live = 0;
    for (let slot = 0; slot < this.slotsUsed; slot++) {
      if (this.slotLive[slot] === 1) keys[live++] = fingerprintOf(this.slotHashes[slot * 2], this.slotHashes[slot * 2 + 1]) * SLOT_RANGE + slot;
    }
    const sorted = keys.subarray(0, live).sort();
    const entries = new Float64Array(live * ENTRY_FIELDS);
    const fences = new Float64Array(Math.ceil(live / FENCE_SPACING));
    for (let index = 0; index < live; index++) {
      const slot = sorted[index] % SLOT_RANGE;
      const fingerprint = (sorted[index] - slot) / SLOT_RANGE;
      const record = slot * RECORD_FIELDS;
      const entry = index * ENTRY_FIELDS;
      entries[entry] = fingerprint;
      entries[entry + 1] = this.valuesSize + this.slotRecords[record];
      entries[entry + 2] = this.slotRecords[record + 1];
      const holderTag = this.slotRecords[record + 3];
      entries[entry + 3] = holderTag & LINE_HOLDER ? this.slotRecords[record + 2] : this.valuesSize + this.slotRecords[record + 2];
      entries[entry + 4] = holderTag;
      if (index % FENCE_SPACING === 0) fences[index / FENCE_SPACING] = fingerprint;
    }
    writeAll(this.valuesFd, this.arena.subarray(0, this.arenaUsed), this.valuesSize);
    this.valuesSize += this.arenaUsed;
    if (live > 0) this.runs.push(this.writeRun(entries, fences));
    this.table.fill(0);
    this.slotsUsed = 0;
    this.arenaUsed = 0;
    for (let size = 0; ; size++) {
      const sameSize = this.runs.filter((run) => run.size === size);
      if (sameSize.length < this.limits.runsPerMerge) break;
      this.merge(sameSize, size + 1);
    }
  }

  /** A new, empty run file that only the user can read: it holds fingerprints of emails. */
  private createRunFile(): { file: string; fd: number } {
    const file = path.join(this.folder, `run-${this.runsMade++}`);
    return { file, fd: openSync(file, 'w+', 0o600) };
  }

  private writeRun(entries: Float64Array, fences: Float64Array): Run {
    const { file, fd } = this.createRunFile();
    writeAll(fd, new Uint8Array(entries.buffer, entries.byteOffset, entries.byteLength), 0);
    return { file, fd, entries: entries.length / ENTRY_FIELDS, fences, size: 0 };
  }

  /** Merges `runs` into one run of `size`, a chunk of each at a time, so memory stays flat however large they are. */
  private merge(runs: Run[], size: number): void {
    const total = runs.reduce((sum, run) => sum + run.entries, 0);
    const readers = runs.map((run) => new RunReader(run)).filter((reader) => !reader.done);
    const { file, fd } = this.createRunFile();
    const fences = new Float64Array(Math.ceil(total / FENCE_SPACING));
    const chunk = new Float64Array(MERGE_CHUNK_ENTRIES * ENTRY_FIELDS);
    let inChunk = 0;
    let written = 0;
    for (let index = 0; index < total; index++) {
      let lowest = readers[0];
      for (const reader of readers) if (reader.fingerprint < lowest.fingerprint) lowest = reader;
      if (index % FENCE_SPACING === 0) fences[index / FENCE_SPACING] = lowest.fingerprint;
      lowest.takeInto(chunk, inChunk++);
      if (lowest.done) readers.splice(readers.indexOf(lowest), 1);
      if (inChunk === MERGE_CHUNK_ENTRIES) {
        writeAll(fd, new Uint8Array(chunk.buffer), written);
        written += chunk.byteLength;
        inChunk = 0;
      }
    }
    writeAll(fd, new Uint8Array(chunk.buffer, 0, inChunk * ENTRY_BYTES), written);
    for (const run of runs) {
      closeSync(run.fd);
      unlinkSync(run.file);
    }
    this.runs.splice(0, this.runs.length, ...this.runs.filter((run) => !runs.includes(run)), { file, fd, entries: total, fences, size });
  }
}
