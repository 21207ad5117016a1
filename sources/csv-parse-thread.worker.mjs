// @ts-check
// The worker side of csv-parse-thread.ts: parses its stdin with csv-parse and posts rows in batches (RowBatch there),
// waiting for the main thread's acknowledgements once `maxBatchesInFlight` batches are unanswered.
import process from 'node:process';
import { finished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Parser } from 'csv-parse';
import { markedEncoding } from './byte-order-marks.mjs';
import { Utf8Check } from './utf8-check.mjs';

/** @typedef {import('./csv-parse-thread.ts').ParserThreadData} ParserThreadData */
/** @typedef {import('./csv-parse-thread.ts').RowBatch} RowBatch */
/** @typedef {import('csv-parse').CsvError} CsvError */

const BATCH_ROWS = 1024;
const DONE = 'done';
/** The main thread's word once stdin is ended (INPUT_ENDED and INPUT_FAILED in csv-parse-thread.ts). */
const INPUT_ENDED = 'input-ended';
const INPUT_FAILED = 'input-failed';
const LF = 10;
const CR = 13;
const QUOTE = 34;
const LINE_BREAK = /\r\n|\n|\r/;
const TRAILING_LINE_BREAK = /(?:\r\n|\n|\r)$/;
/** An offset that is not there: no line break found, no restart asked for. */
const NOWHERE = -1;
/**
 * The longest record csv-parse may hold. A quote opened and never closed would otherwise make it hold the rest of the
 * input in memory; past this, reading starts over after the quote's line. Any real user's row is far shorter.
 */
const MAX_RECORD_BYTES = 8 << 20;
/** The error code of a record a stray quote ran on past its line; the rows it swallowed are read again. */
const RUNAWAY_QUOTE = 'RUNAWAY_QUOTE';
/** The error code of a last line without its line break, in an input that failed partway: the row is cut short. */
const CUT_SHORT = 'INPUT_CUT_SHORT';
/**
 * Excel's first line `sep=;` (which it writes, and honours, for CSV in other locales) names the file's delimiter:
 * the line is no row, and the rows after it are read with that delimiter, whatever the option says. Only a
 * character that can separate cells counts (not a letter, a digit or a quote).
 */
const SEPARATOR_LINE = /^sep=([^\p{L}\p{N}"\r\n])$/u;
/** What a header row of one cell may show it is separated by instead: Excel writes `;` in many locales, a tab as "Unicode text". */
const DETECTED_DELIMITERS = [';', '\t', '|'];
/** What a restart feeds a new parser at a time, from the input it held. */
const REFEED_SLICE_BYTES = 4096;

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

  /** Input offset just past the last byte added. */
  end = 0;

  /** @param {Buffer} chunk */
  add(chunk) {
    if (chunk.length === 0) return;
    this.end += chunk.length;
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

  /**
   * The offset just past the first line break at or after `offset` (not before the counted input), or NOWHERE. A CR
   * at the end of the input so far counts as a whole line break: an LF after it reads as a blank line.
   * @param {number} offset
   */
  lineBreakAfter(offset) {
    let chunkStart = this.chunkStart;
    for (const chunk of this.chunks) {
      const from = Math.max(0, offset - chunkStart);
      if (from < chunk.length) {
        const lf = chunk.indexOf(LF, from);
        const cr = chunk.indexOf(CR, from);
        const at = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (at !== -1) return chunkStart + at + (at === cr && chunk[at + 1] === LF ? 2 : 1);
      }
      chunkStart += chunk.length;
    }
    return NOWHERE;
  }

  /**
   * The input from `start` (not before the counted input) to `end`, as text.
   * @param {number} start
   * @param {number} end
   */
  textBetween(start, end) {
    return Buffer.concat(this.bytesFrom(start)).toString('utf8', 0, end - start);
  }

  /**
   * The input from `offset` (not before the counted input) to its end, as views of the chunks held.
   * @param {number} offset
   */
  bytesFrom(offset) {
    /** @type {Buffer[]} */
    const views = [];
    let chunkStart = this.chunkStart;
    for (const chunk of this.chunks) {
      if (chunkStart + chunk.length > offset) views.push(chunk.subarray(Math.max(0, offset - chunkStart)));
      chunkStart += chunk.length;
    }
    return views;
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
 * that do not decode become U+FFFD, which the csv source reports on the row: `check`, given the bytes of any encoding
 * but UTF-16, tells UTF-8's from a U+FFFD the text holds itself, and a single-byte encoding's (Windows-1252) from
 * UTF-8 read as one (readsAsUtf8).
 * @param {Buffer} first
 * @param {string} encoding
 * @param {Utf8Check} check
 * @returns {{ toUtf8: (chunk: Buffer) => Buffer, utf8: boolean }} toUtf8 is called once more with an empty chunk at the end of the input.
 */
function utf8Transcoder(first, encoding, check) {
  const decoder = new TextDecoder(markedEncoding(first) ?? encoding);
  const utf8 = decoder.encoding === 'utf-8';
  const checked = !decoder.encoding.startsWith('utf-16');
  const toUtf8 = (/** @type {Buffer} */ chunk) => {
    if (checked && chunk.length === 0) check.end();
    else if (checked) check.take(chunk);
    if (utf8) return chunk;
    // An empty chunk ends the input: what the decoder still holds (a character cut short) comes out.
    return Buffer.from(chunk.length === 0 ? decoder.decode() : decoder.decode(chunk, { stream: true }), 'utf8');
  };
  return { toUtf8, utf8 };
}

/**
 * Where the text's first line break is, or NOWHERE.
 * @param {string} text
 */
function firstLineBreak(text) {
  const lf = text.indexOf('\n');
  const cr = text.indexOf('\r');
  return lf === NOWHERE ? cr : cr === NOWHERE ? lf : Math.min(lf, cr);
}

/**
 * Where the quoted cell opening at `open` closes on its line: the quote that ends it (not one of a doubled pair), just
 * before a delimiter or the line's end; NOWHERE when it does not close there.
 * @param {string} text
 * @param {number} open
 * @param {string} delimiter
 */
function closingQuoteOf(text, open, delimiter) {
  for (let at = text.indexOf('"', open + 1); at !== NOWHERE; at = text.indexOf('"', at + 2)) {
    if (text.charCodeAt(at + 1) === QUOTE) continue;
    return at + 1 === text.length || text.startsWith(delimiter, at + 1) ? at : NOWHERE;
  }
  return NOWHERE;
}

/**
 * The delimiters of `text` that could separate cells of a row: not those inside a quoted cell that closes on the line
 * (`"admin,billing"`, JSON metadata), nor those followed by a space, unless the file puts one after each delimiter
 * (`spaced`). Prose in a note or an address puts a space after its commas (`Springfield, IL, 62701`); an export most
 * often puts none between its cells.
 * @param {string} text
 * @param {string} delimiter
 * @param {boolean} spaced
 */
function cellDelimitersIn(text, delimiter, spaced) {
  let count = 0;
  let cellStart = 0;
  for (let at = 0; at < text.length; ) {
    if (at === cellStart && text.charCodeAt(at) === QUOTE) {
      const close = closingQuoteOf(text, at, delimiter);
      if (close !== NOWHERE) {
        at = close + 1;
        continue;
      }
    }
    if (text.startsWith(delimiter, at)) {
      at += delimiter.length;
      if (spaced || text[at] !== ' ') count++;
      while (spaced && text[at] === ' ') at++;
      cellStart = at;
      continue;
    }
    at++;
  }
  return count;
}

/**
 * Whether a multi-line cell holds a whole line with a row's worth of delimiters: a row a runaway quote swallowed. A
 * note or an address (`Likes cats, dogs,` / `and birds`) rarely has that many on one line.
 * @param {string} cell
 * @param {number} expectedCells
 * @param {string} delimiter
 * @param {boolean} spaced
 */
function holdsRows(cell, expectedCells, delimiter, spaced) {
  const lines = cell.split(LINE_BREAK);
  for (let index = 1; index < lines.length - 1; index++) if (cellDelimitersIn(lines[index], delimiter, spaced) >= expectedCells - 1) return true;
  return false;
}

/**
 * Whether the last line of a record, as it stands in the input, has a row's worth of delimiters: the line a runaway
 * quote closed on is a whole row (its closing quote at the row's end, or inside one of its cells, `6'5"`), while the
 * last line of a legitimate multi-line cell holds the end of the cell and only the cells after it.
 * @param {string} recordText
 * @param {number} expectedCells
 * @param {string} delimiter
 * @param {boolean} spaced
 */
function endsInRow(recordText, expectedCells, delimiter, spaced) {
  const lines = recordText.replace(TRAILING_LINE_BREAK, '').split(LINE_BREAK);
  return cellDelimitersIn(lines[lines.length - 1], delimiter, spaced) >= expectedCells - 1;
}

/**
 * Whether a record is a quote that ran on past its line, taking the rows after it. Only a cell holding a line break
 * can be one, and a legitimate multi-line cell (a note, an address) is rare in a user export, so any sign is taken:
 * - the cell opens with a quote it kept: the runaway quote closed at the next quote in the file, which opens a cell
 *   of a later row and so is followed by text, not a delimiter, and csv-parse (relax_quotes) kept the cell's text as
 *   it stands in the file, quotes and all. A legitimate multi-line cell may open with a quote too, an escaped one
 *   (`"""The Rock""`), but csv-parse unescaped it: its text is not in the record's text as it stands;
 * - the record has more or fewer cells than the header and the cell has a delimiter after its first line break: the
 *   record is an error anyway, and the lines it took in may be rows (a ragged row whose multi-line cell has no
 *   delimiter after its line break, a note, stays one ragged row);
 * - the cell holds rows (holdsRows), or the record ends on a line that is a whole row (endsInRow): the quote closed
 *   on a later line, at a row's end or just before a delimiter (`6'5",`), and the cell holds the rest of its own line
 *   and the rows in between; counts that match the header would otherwise pass one user's email and hash off under
 *   another's id, or one user's email off as another's name.
 * @param {string[]} cells
 * @param {number} expectedCells
 * @param {string} delimiter
 * @param {boolean} spaced Whether the file puts a space after each delimiter (cellDelimitersIn).
 * @param {() => string} recordText The record as it stands in the input.
 */
function isRunawayQuote(cells, expectedCells, delimiter, spaced, recordText) {
  for (let index = 0; index < cells.length; index++) {
    const cell = cells[index];
    const lineBreak = firstLineBreak(cell);
    if (lineBreak === NOWHERE) continue;
    if (cells.length !== expectedCells) {
      if (cell.includes(delimiter, lineBreak)) return true;
    } else if (index > 0 && endsInRow(recordText(), expectedCells, delimiter, spaced)) {
      // Not for a multi-line first cell: it ends on a line holding every other cell's delimiter, row or not.
      return true;
    }
    if (holdsRows(cell, expectedCells, delimiter, spaced)) return true;
    if (cell.charCodeAt(0) === QUOTE && recordText().includes(cell)) return true;
  }
  return false;
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
   * @param {string} delimiter The one its rows were read with.
   * @param {boolean} undecodable Whether a U+FFFD in its rows may stand for bytes that did not decode.
   * @param {boolean} readsAsUtf8 Whether the input, read in a single-byte encoding, is UTF-8 so far.
   */
  postTo(port, delimiter, undecodable, readsAsUtf8) {
    /** @type {RowBatch} */
    const batch = {
      text: this.cells.join(''),
      cellEnds: this.cellEnds.subarray(0, this.cellCount),
      rowEnds: this.rowEnds.subarray(0, this.rows),
      lines: this.lines.subarray(0, this.rows),
      errorCodes: this.errorCodes,
      delimiter,
      undecodable,
      readsAsUtf8,
    };
    port.postMessage(batch, [this.cellEnds.buffer, this.rowEnds.buffer, this.lines.buffer]);
  }
}

/**
 * @param {import('node:worker_threads').MessagePort} port
 * @param {ParserThreadData} data
 */
async function parseForParent(port, { delimiter, detectDelimiter, encoding, columnCount, maxBatchesInFlight }) {
  let inFlight = 0;
  /** @type {(() => void) | undefined} */
  let onAcknowledged;
  /** @type {(failed: boolean) => void} */
  let onInputOutcome = () => undefined;
  /** Whether the input failed partway, once the main thread says how it ended. */
  const inputFailed = new Promise((resolve) => (onInputOutcome = resolve));
  port.on('message', (message) => {
    if (message === INPUT_ENDED || message === INPUT_FAILED) return onInputOutcome(message === INPUT_FAILED);
    inFlight--;
    onAcknowledged?.();
    onAcknowledged = undefined;
  });
  /** Resolves once fewer than `maxBatchesInFlight` batches are unanswered. */
  const room = async () => {
    while (inFlight >= maxBatchesInFlight) await new Promise((resolve) => (onAcknowledged = () => resolve(undefined)));
  };
  let builder = new BatchBuilder();
  const check = new Utf8Check();
  /** Whether the input is UTF-8: a U+FFFD of any other encoding may be bytes that did not decode. */
  let utf8 = false;
  const post = () => {
    builder.postTo(port, delimiter, !utf8 || check.sawUndecodable, !utf8 && check.readsAsUtf8);
    builder = new BatchBuilder();
    inFlight++;
  };

  /** Cells per row: the columns named, or the header's (undefined until the header row is read). */
  let expectedCells = columnCount;
  /** Whether the first row read puts a space after its delimiters (`email, name`): then every delimiter counts. */
  let spaced = false;
  const lines = new LineCounter();
  /** Input offset of the parser's first byte. */
  let parserStart = 0;
  let previousEnd = 0;
  /** Where reading starts over with a new parser, after a runaway quote; NOWHERE when it does not. */
  let restartAt = NOWHERE;
  /** Inside a line too long to parse, from this offset on, until its line break comes; NOWHERE when not. */
  let skippingFrom = NOWHERE;
  /** Input offset just past the last line break read. */
  let lastLineEnd = 0;
  /** In an input that failed partway, where its last line starts when that line has no line break; NOWHERE when not. */
  let cutFrom = NOWHERE;

  /**
   * Gives up on the record that starts at `start` and reads on from its second line, so the rows a stray quote
   * swallowed are not lost; a record that is one line too long to hold is skipped to its end.
   * @param {number} start
   */
  const readOnAfterLineOf = (start) => {
    const next = lines.lineBreakAfter(start);
    if (next === NOWHERE) skippingFrom = start;
    else restartAt = next;
  };

  /**
   * Each record is taken as csv-parse finds it, with how far into the input it ends (`info.bytes` at that moment). A
   * record starts where the one before it ended (blank lines are records too), so its line is counted from the input
   * bytes up to there: csv-parse's `raw` option would give each record's text, but copies every input byte one at a
   * time to do so, its `info` option copies two objects per record, and its `info.lines` counts a quoted CRLF twice.
   * @param {Parser} from
   * @param {string[] | { error: CsvError }} row
   */
  const take = (from, row) => {
    if (from !== parser || restartAt !== NOWHERE || skippingFrom !== NOWHERE) return;
    const start = previousEnd;
    const line = lines.lineAt(start);
    previousEnd = parserStart + parser.info.bytes;
    const declared = start === 0 && !('error' in row) ? SEPARATOR_LINE.exec(row.join(delimiter))?.[1] : undefined;
    if (declared !== undefined) {
      delimiter = declared;
      detectDelimiter = false;
      readOnAfterLineOf(start);
      return;
    }
    // A record that takes in the last line is cut short, also one that starts on an earlier line (a quoted line break).
    if (cutFrom !== NOWHERE && previousEnd > cutFrom) {
      // What the row's cells hold may stop anywhere (`ana@example.c`): never a row.
      if (!('error' in row) && isBlankRow(row)) return;
      builder.addFailure(line, CUT_SHORT);
    } else if ('error' in row) {
      // csv-parse's message may quote a cell, which can be a password hash: only its code crosses over.
      const { code } = row.error;
      const next = lines.lineBreakAfter(start);
      // A quote still open at the end of the input, with lines after the one it opened on: they are rows.
      const runaway = code === 'CSV_QUOTE_NOT_CLOSED' && next !== NOWHERE && next < lines.end;
      builder.addFailure(line, runaway ? RUNAWAY_QUOTE : code);
      if (runaway || code === 'CSV_MAX_RECORD_SIZE') readOnAfterLineOf(start);
    } else if (expectedCells !== undefined && isRunawayQuote(row, expectedCells, delimiter, spaced, () => lines.textBetween(start, previousEnd))) {
      builder.addFailure(line, RUNAWAY_QUOTE);
      readOnAfterLineOf(start);
    } else if (!isBlankRow(row)) {
      const shown = expectedCells === undefined && detectDelimiter && row.length === 1 ? DETECTED_DELIMITERS.find((candidate) => row[0].includes(candidate)) : undefined;
      detectDelimiter = false;
      if (shown !== undefined) {
        // The header row read again, and every row after it, with the delimiter it shows.
        delimiter = shown;
        restartAt = start;
        return;
      }
      if (expectedCells === undefined) {
        expectedCells = row.length;
        spaced = row.slice(1).some((cell) => cell.startsWith(' '));
      }
      builder.addRecord(line, row);
    }
    if (builder.rows === BATCH_ROWS) post();
  };

  // Records are taken as `data` events, which csv-parse emits while `write` parses the chunk: measured, iterating its
  // readable side instead (a promise per record) cost about a fifth of the parse. The skip event fires in the middle
  // of parsing, so a failure keeps its place among the records around it.
  const createParser = () => {
    // Every line ending ends a record: csv-parse would otherwise take the first line's for the whole file, and a file
    // with rows appended by another tool (CRLF, then LF) would merge those rows into one.
    const started = new Parser({
      bom: true,
      delimiter,
      max_record_size: MAX_RECORD_BYTES,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      relax_quotes: true,
      skip_records_with_error: true,
    });
    started.on('data', (row) => take(started, row));
    started.on('skip', (/** @type {CsvError} */ error) => take(started, { error }));
    return started;
  };
  /** The parser now reading; one that gave up on a runaway quote is dropped with what it still held. */
  let parser = createParser();

  /**
   * Starts over wherever a runaway quote asks to, with the input held since, as often as it asks. The held input
   * goes in slices: a parser given up on goes on parsing the rest of what it was given, unheard, and the batches
   * of what was held still wait for room.
   */
  const restartWhereAsked = async () => {
    while (restartAt !== NOWHERE) {
      const at = restartAt;
      restartAt = NOWHERE;
      parser.destroy();
      parser = createParser();
      parserStart = at;
      previousEnd = at;
      refeed: for (const bytes of lines.bytesFrom(at)) {
        for (let offset = 0; offset < bytes.length; offset += REFEED_SLICE_BYTES) {
          parser.write(bytes.subarray(offset, offset + REFEED_SLICE_BYTES));
          if (restartAt !== NOWHERE || skippingFrom !== NOWHERE) break refeed;
          await room();
        }
      }
    }
  };

  /** Parses the next piece of input, or looks in it for the end of a line too long to parse. */
  const parse = async (/** @type {Buffer} */ chunk) => {
    lines.add(chunk);
    const lastBreak = Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR));
    if (lastBreak !== NOWHERE) lastLineEnd = lines.end - chunk.length + lastBreak + 1;
    if (skippingFrom === NOWHERE) parser.write(chunk);
    else {
      const next = lines.lineBreakAfter(skippingFrom);
      if (next === NOWHERE) {
        // No line break in it either: what was held of the line is let go.
        skippingFrom = lines.end;
        lines.lineAt(skippingFrom);
      } else {
        skippingFrom = NOWHERE;
        restartAt = next;
      }
    }
    await restartWhereAsked();
  };

  /** @type {((chunk: Buffer) => Buffer) | undefined} */
  let toUtf8;
  // Input is read only while there is room for more batches: that is the backpressure up to the main thread's pipe.
  for await (const input of process.stdin) {
    if (toUtf8 === undefined) ({ toUtf8, utf8 } = utf8Transcoder(input, encoding, check));
    await parse(toUtf8(input));
    // What this chunk held goes out now rather than when the batch is full: the next chunk may be slow to come.
    if (builder.rows > 0) post();
    await room();
  }
  if (toUtf8) await parse(toUtf8(Buffer.alloc(0)));
  if ((await inputFailed) && lastLineEnd < lines.end) cutFrom = lastLineEnd;
  // Ending a parser may find a quote still open, and reading starts over after its line, until one ends cleanly.
  while (skippingFrom === NOWHERE) {
    const ending = parser;
    ending.end();
    await finished(ending);
    if (restartAt === NOWHERE) break;
    await restartWhereAsked();
  }
  if (builder.rows > 0) post();
  port.postMessage(DONE);
}

if (parentPort === null) throw new Error('csv-parse-thread.worker.mjs runs only as the worker of csv-parse-thread.ts');
await parseForParent(parentPort, /** @type {ParserThreadData} */ (workerData));
