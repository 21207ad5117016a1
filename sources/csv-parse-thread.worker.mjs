// @ts-check
// The worker side of csv-parse-thread.ts: parses its stdin with csv-parse and posts rows in batches (RowBatch there),
// waiting for the main thread's acknowledgements once `maxBatchesInFlight` batches are unanswered.
import process from 'node:process';
import { pipeline } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { parse } from 'csv-parse';

/** @typedef {import('./csv-parse-thread.ts').ParserThreadData} ParserThreadData */
/** @typedef {import('./csv-parse-thread.ts').RowBatch} RowBatch */
/** @typedef {import('csv-parse').CsvError} CsvError */
/**
 * What the parser yields with `raw: true`, and what the skip listener pushes for a record it gave up on.
 * @typedef {{ record: string[], raw: string } | { error: CsvError, raw: string }} ParsedRow
 */

const BATCH_ROWS = 1024;
const DONE = 'done';
const LF = 10;

/**
 * LF, CRLF and a lone CR each end one line. csv-parse's own `info.lines` counts a quoted CRLF twice (and its `info`
 * option costs more than the `raw` text this counts in). indexOf searches natively, far faster than a loop in script
 * over every character; most exports have no CR at all, so the second search usually ends at once.
 * @param {string} text
 */
function countLineBreaks(text) {
  let breaks = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) breaks++;
  for (let at = text.indexOf('\r'); at !== -1; at = text.indexOf('\r', at + 1)) {
    if (text.charCodeAt(at + 1) !== LF) breaks++;
  }
  return breaks;
}

/** @param {string[]} cells */
function isBlankLine(cells) {
  return cells.length === 1 && cells[0].trim() === '';
}

/**
 * Typed arrays grow by doubling; a batch of ordinary rows never has to.
 * @param {Uint32Array<ArrayBuffer>} array
 * @param {number} length
 * @returns {Uint32Array<ArrayBuffer>}
 */
function grown(array, length) {
  if (length < array.length) return array;
  const larger = new Uint32Array(array.length * 2);
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
async function parseForParent(port, { delimiter, maxBatchesInFlight }) {
  let inFlight = 0;
  /** @type {(() => void) | undefined} */
  let acknowledged;
  port.on('message', () => {
    inFlight--;
    acknowledged?.();
    acknowledged = undefined;
  });
  let builder = new BatchBuilder();
  const post = async () => {
    builder.postTo(port);
    builder = new BatchBuilder();
    inFlight++;
    if (inFlight >= maxBatchesInFlight) await new Promise((resolve) => (acknowledged = () => resolve(undefined)));
  };

  const parser = parse({ bom: true, delimiter, raw: true, relax_column_count: true, relax_quotes: true, skip_records_with_error: true });
  // The skip event fires in the middle of parsing: pushing the failure into the parser's own output keeps it in
  // order with the records around it, so it gets its line like any other record.
  parser.on('skip', (/** @type {CsvError} */ error, /** @type {string} */ raw) => parser.push({ error, raw }));
  /** @type {AsyncIterable<ParsedRow>} */
  const rows = pipeline(process.stdin, parser, () => undefined);
  let nextLine = 1;
  for await (const row of rows) {
    const line = nextLine;
    nextLine += countLineBreaks(row.raw);
    // csv-parse's message may quote a cell, which can be a password hash: only its code crosses over.
    if ('error' in row) builder.addFailure(line, row.error.code);
    else if (!isBlankLine(row.record)) builder.addRecord(line, row.record);
    // csv-parse emits every record of an input chunk at once: when none is left, the next row waits for input, which
    // may be a person typing into stdin, so what is parsed goes out now rather than when the batch is full.
    if (builder.rows === BATCH_ROWS || (parser.readableLength === 0 && builder.rows > 0)) await post();
  }
  if (builder.rows > 0) await post();
  port.postMessage(DONE);
}

if (parentPort === null) throw new Error('csv-parse-thread.worker.mjs runs only as the worker of csv-parse-thread.ts');
await parseForParent(parentPort, /** @type {ParserThreadData} */ (workerData));
