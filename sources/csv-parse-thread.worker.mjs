// @ts-check
// The worker side of csv-parse-thread.ts: parses its stdin with csv-parse and posts rows in batches (RowBatch there),
// waiting for the main thread's acknowledgements once `maxBatchesInFlight` batches are unanswered.
import process from 'node:process';
import { finished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Parser } from 'csv-parse';

/** @typedef {import('./csv-parse-thread.ts').ParserThreadData} ParserThreadData */
/** @typedef {import('./csv-parse-thread.ts').RowBatch} RowBatch */
/** @typedef {import('csv-parse').CsvError} CsvError */

const BATCH_ROWS = 1024;
const BYTE_ORDER_MARKS = [
  { encoding: 'utf-8', bytes: [0xef, 0xbb, 0xbf] },
  { encoding: 'utf-16le', bytes: [0xff, 0xfe] },
  { encoding: 'utf-16be', bytes: [0xfe, 0xff] },
];
const DONE = 'done';
const LF = 10;
const CR = 13;

/**
 * Line numbers of input offsets, counted from the input's bytes as offsets grow. LF, CRLF and a lone CR each end one
 * line. indexOf searches natively; the next LF and CR of the oldest uncounted chunk are kept, so each is found once.
 */
class LineCounter {
  /** @type {Buffer[]} Input not counted to its end yet, oldest first. */
  chunks = [];
  /** Input offset of the first byte of chunks[0]. */
  chunkStart = 0;
  /** Input offset up to which line breaks are counted. */
  counted = 0;
  line = 1;
  /** The last byte before chunks[0], for an LF that opens it. */
  byteBefore = -1;
  nextLf = -1;
  nextCr = -1;

  /** @param {Buffer} chunk */
  add(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    if (this.chunks.length === 1) this.startChunk();
  }

  /**
   * The line on which the input byte at `offset` sits (offsets never go back).
   * @param {number} offset
   */
  lineAt(offset) {
    while (this.counted < offset && this.chunks.length > 0) {
      const chunk = this.chunks[0];
      const end = Math.min(offset - this.chunkStart, chunk.length);
      while (this.nextLf !== -1 && this.nextLf < end) {
        if ((this.nextLf === 0 ? this.byteBefore : chunk[this.nextLf - 1]) !== CR) this.line++;
        this.nextLf = chunk.indexOf(LF, this.nextLf + 1);
      }
      while (this.nextCr !== -1 && this.nextCr < end) {
        this.line++;
        this.nextCr = chunk.indexOf(CR, this.nextCr + 1);
      }
      this.counted = this.chunkStart + end;
      if (end === chunk.length) {
        this.byteBefore = chunk[chunk.length - 1];
        this.chunkStart += chunk.length;
        this.chunks.shift();
        if (this.chunks.length > 0) this.startChunk();
      }
    }
    return this.line;
  }

  startChunk() {
    this.nextLf = this.chunks[0].indexOf(LF);
    this.nextCr = this.chunks[0].indexOf(CR);
  }
}

/**
 * What turns the input's bytes into UTF-8 for csv-parse, chosen from its first chunk: a byte order mark names the
 * encoding (Excel's "Unicode text" is UTF-16LE), else the `encoding` option. UTF-8 passes through untouched; anything
 * else is decoded with TextDecoder (which drops the mark), so csv-parse and the line counts see one encoding. Bytes
 * that do not decode become U+FFFD, which the csv source reports on the row.
 * @param {Buffer} first
 * @param {string} encoding
 * @returns {(chunk: Buffer) => Buffer} Called once more with an empty chunk at the end of the input.
 */
function utf8Transcoder(first, encoding) {
  const marked = BYTE_ORDER_MARKS.find(({ bytes }) => bytes.every((byte, index) => first[index] === byte));
  const decoder = new TextDecoder(marked?.encoding ?? encoding);
  if (decoder.encoding === 'utf-8') return (chunk) => chunk;
  // An empty chunk ends the input: what the decoder still holds (a character cut short) comes out.
  return (chunk) => Buffer.from(chunk.length === 0 ? decoder.decode() : decoder.decode(chunk, { stream: true }), 'utf8');
}

/**
 * A blank line, or a row of empty cells: spreadsheets pad an export with such rows (`,,,`) below its data.
 * @param {string[]} cells
 */
function isBlankRow(cells) {
  for (const cell of cells) if (cell.trim() !== '') return false;
  return true;
}

/**
 * The array, or a copy doubled as often as it takes to hold `length` entries: a write past a typed array's end is
 * dropped without a word. A batch of ordinary rows never grows.
 * @param {Uint32Array<ArrayBuffer>} array
 * @param {number} length
 * @returns {Uint32Array<ArrayBuffer>}
 */
function grown(array, length) {
  if (length <= array.length) return array;
  let size = array.length * 2;
  while (size < length) size *= 2;
  const larger = new Uint32Array(size);
  larger.set(array);
  return larger;
}

/** One batch in the making; each posted batch hands its typed arrays over, so the next one starts a new builder. */
class BatchBuilder {
  /** @type {string[]} */
  cells = [];
  textLength = 0;
  cellCount = 0;
  cellEnds = new Uint32Array(BATCH_ROWS * 16);
  rows = 0;
  rowEnds = new Uint32Array(BATCH_ROWS);
  lines = new Uint32Array(BATCH_ROWS);
  /** @type {string[]} */
  errorCodes = [];

  /**
   * @param {number} line
   * @param {string[]} record
   */
  addRecord(line, record) {
    this.cellEnds = grown(this.cellEnds, this.cellCount + record.length);
    for (const cell of record) {
      this.cells.push(cell);
      this.textLength += cell.length;
      this.cellEnds[this.cellCount++] = this.textLength;
    }
    this.endRow(line);
  }

  /**
   * @param {number} line
   * @param {string} code
   */
  addFailure(line, code) {
    this.errorCodes.push(code);
    this.endRow(line);
  }

  /** @param {number} line */
  endRow(line) {
    this.rowEnds[this.rows] = this.cellCount;
    this.lines[this.rows] = line;
    this.rows++;
  }

  /**
   * Posts the batch, handing its typed arrays' memory over rather than copying it: the builder is spent.
   * @param {import('node:worker_threads').MessagePort} port
   */
  postTo(port) {
    /** @type {RowBatch} */
    const batch = {
      text: this.cells.join(''),
      cellEnds: this.cellEnds.subarray(0, this.cellCount),
      rowEnds: this.rowEnds.subarray(0, this.rows),
      lines: this.lines.subarray(0, this.rows),
      errorCodes: this.errorCodes,
    };
    port.postMessage(batch, [this.cellEnds.buffer, this.rowEnds.buffer, this.lines.buffer]);
  }
}

/**
 * @param {import('node:worker_threads').MessagePort} port
 * @param {ParserThreadData} data
 */
async function parseForParent(port, { delimiter, encoding, maxBatchesInFlight }) {
  let inFlight = 0;
  /** @type {(() => void) | undefined} */
  let onAcknowledged;
  port.on('message', () => {
    inFlight--;
    onAcknowledged?.();
    onAcknowledged = undefined;
  });
  /** Resolves once fewer than `maxBatchesInFlight` batches are unanswered. */
  const room = async () => {
    while (inFlight >= maxBatchesInFlight) await new Promise((resolve) => (onAcknowledged = () => resolve(undefined)));
  };
  let builder = new BatchBuilder();
  const post = () => {
    builder.postTo(port);
    builder = new BatchBuilder();
    inFlight++;
  };

  const lines = new LineCounter();
  let previousEnd = 0;
  /**
   * Each record is taken as csv-parse finds it, with how far into the input it ends (`info.bytes` at that moment). A
   * record starts where the one before it ended (blank lines are records too), so its line is counted from the input
   * bytes up to there: csv-parse's `raw` option would give each record's text, but copies every input byte one at a
   * time to do so, its `info` option copies two objects per record, and its `info.lines` counts a quoted CRLF twice.
   * @param {string[] | { error: CsvError }} row
   */
  const take = (row) => {
    const line = lines.lineAt(previousEnd);
    previousEnd = parser.info.bytes;
    // csv-parse's message may quote a cell, which can be a password hash: only its code crosses over.
    if ('error' in row) builder.addFailure(line, row.error.code);
    else if (!isBlankRow(row)) builder.addRecord(line, row);
    if (builder.rows === BATCH_ROWS) post();
  };
  // Records are taken as `data` events, which csv-parse emits while `write` parses the chunk: measured, iterating its
  // readable side instead (a promise per record) cost about a fifth of the parse. The skip event fires in the middle
  // of parsing, so a failure keeps its place among the records around it.
  // Every line ending ends a record: csv-parse would otherwise take the first line's for the whole file, and a file
  // with rows appended by another tool (CRLF, then LF) would merge those rows into one.
  const parser = new Parser({
    bom: true,
    delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
  });
  parser.on('data', take);
  parser.on('skip', (/** @type {CsvError} */ error) => take({ error }));
  const parsed = finished(parser);
  /** @type {((chunk: Buffer) => Buffer) | undefined} */
  let toUtf8;
  // Input is read only while there is room for more batches: that is the backpressure up to the main thread's pipe.
  for await (const input of process.stdin) {
    toUtf8 ??= utf8Transcoder(input, encoding);
    const chunk = toUtf8(input);
    lines.add(chunk);
    parser.write(chunk);
    // What this chunk held goes out now rather than when the batch is full: the next chunk may be slow to come.
    if (builder.rows > 0) post();
    await room();
  }
  if (toUtf8) {
    const rest = toUtf8(Buffer.alloc(0));
    lines.add(rest);
    parser.write(rest);
  }
  parser.end();
  await parsed;
  if (builder.rows > 0) post();
  port.postMessage(DONE);
}

if (parentPort === null) throw new Error('csv-parse-thread.worker.mjs runs only as the worker of csv-parse-thread.ts');
await parseForParent(parentPort, /** @type {ParserThreadData} */ (workerData));
