// Parses CSV on a worker thread, so a second core runs csv-parse while the main thread maps, validates and writes.
// The main thread pipes the input bytes into the worker's stdin; the worker hands back rows in batches: one string
// holding every cell, cut by typed arrays, which costs the main thread far less to receive than arrays of strings.
// Backpressure: past MAX_BATCHES_IN_FLIGHT unacknowledged batches the worker stops parsing, its stdin fills, and the
// pipe from the input pauses; so memory stays flat whatever the input size.
import { on } from 'node:events';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/** Rows in the order csv-parse found them; blank lines and rows of empty cells are left out, but counted in the lines of the rows after them. */
export interface RowBatch {
  /** Every cell of the batch, one after the other. */
  text: string;
  /** Where each cell ends in `text`; a cell starts where the one before it ends, the batch's first at 0. */
  cellEnds: Uint32Array;
  /** Per row: one past the index (in `cellEnds`) of its last cell. A row with no cells is one csv-parse gave up on. */
  rowEnds: Uint32Array;
  /** Per row: the line it starts on, from 1. */
  lines: Uint32Array;
  /** Per row csv-parse gave up on, in row order: its error code (its message may quote a cell, so it stays behind). */
  errorCodes: string[];
  /** The delimiter the batch's rows were read with: another than the one asked for when the header row showed it. */
  delimiter: string;
  /**
   * Whether a U+FFFD in its rows may stand for bytes that did not decode: the input so far had some, or is not UTF-8.
   * Otherwise a U+FFFD is the text's own.
   */
  undecodable: boolean;
  /** Whether the input, read in a single-byte encoding as asked, is UTF-8 so far (`José` would read as `JosÃ©`). */
  readsAsUtf8: boolean;
}

/** What the worker is started with. */
export interface ParserThreadData {
  delimiter: string;
  /**
   * Whether a header row that is one cell holding `;`, a tab or `|` (and not the delimiter) is read again with that
   * one: an Excel export in many locales, when no delimiter was asked for.
   */
  detectDelimiter: boolean;
  /** The input's character encoding (a WHATWG label); a UTF-16 or UTF-8 byte order mark overrides it. */
  encoding: string;
  /** Cells per row when the source names its columns; otherwise the header row (the first record) tells. */
  columnCount: number | undefined;
  /** Batches the worker may post before it waits for an acknowledgement. */
  maxBatchesInFlight: number;
}

const MAX_BATCHES_IN_FLIGHT = 4;
/**
 * Parsing churns through short-lived strings: left to itself the worker's young generation grows to tens of MB.
 * Measured at 1M rows, 8 MB keeps the same speed and about 30 MB less peak RSS. The old generation stays unbounded,
 * so a record as long as the worker lets csv-parse hold (MAX_RECORD_BYTES there) fits rather than crashing it.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };
/** The worker's last message: every row was posted. */
const DONE = 'done';
/** The main thread's message for each batch it takes. */
const ACK = 'ack';
/**
 * The main thread's word once the worker's stdin is ended: the input ended, or failed partway (a truncated gzip), in
 * which case a last line without its line break is a row cut short. Sent apart from stdin, so the worker waits for it.
 */
const INPUT_ENDED = 'input-ended';
const INPUT_FAILED = 'input-failed';

// Plain JavaScript, so the worker starts without the TypeScript loader: measured, that loader costs each run about
// 300 ms and 40 MB more (a second loader thread), and the worker has nothing else to share with the main thread.
const WORKER_ENTRY = new URL('./csv-parse-thread.worker.mjs', import.meta.url);

/** Yields the input's rows in batches, parsed on a worker thread; ends the worker when the caller stops early. */
export async function* parseInThread(input: Readable, format: Pick<ParserThreadData, 'delimiter' | 'detectDelimiter' | 'encoding' | 'columnCount'>, signal: AbortSignal): AsyncGenerator<RowBatch> {
  const workerData: ParserThreadData = { ...format, maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT };
  // No execArgv: under `node --import tsx` the worker would load the TypeScript loader it does not need.
  const worker = new Worker(WORKER_ENTRY, { execArgv: [], stdin: true, workerData, resourceLimits: WORKER_LIMITS });
  const toWorker = worker.stdin!;
  // An input that fails partway ends the worker's stdin rather than destroying it: the rows before the failure are
  // parsed and posted, then the failure is thrown.
  let inputFailure: { error: unknown } | undefined;
  input.on('error', (error) => {
    inputFailure ??= { error };
    toWorker.end();
  });
  toWorker.on('finish', () => worker.postMessage(inputFailure === undefined ? INPUT_ENDED : INPUT_FAILED));
  input.pipe(toWorker);
  try {
    for await (const [message] of on(worker, 'message', { signal })) {
      if (message === DONE) break;
      worker.postMessage(ACK);
      yield message as RowBatch;
    }
  } finally {
    // Stops the input too: an open stdin would otherwise keep the process alive.
    input.unpipe(toWorker);
    input.destroy();
    toWorker.destroy();
    await worker.terminate();
  }
  if (inputFailure !== undefined) throw inputFailure.error;
}
