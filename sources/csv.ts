// A CSV export as raw records: one envelope per data row, its cells named by the header row (or `columns`).
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import { describeOrigin, rawEnvelope, REPLACEMENT_CHARACTER, type Issue } from '../pipelines/record.ts';
import { parseInThread, type RowBatch } from './csv-parse-thread.ts';
import { openInput } from './input.ts';

/** Column names of a file without a header row; a name given twice would lose the first of its cells. */
const columnNames = z
  .array(z.string().min(1))
  .min(1)
  .refine((names) => new Set(names).size === names.length, { error: (issue) => `a column is named twice: ${repeatedName(issue.input as string[])}` });

function repeatedName(names: string[]): string {
  return JSON.stringify(names.find((name, index) => names.indexOf(name) !== index));
}

const options = z.object({
  path: inputPath().default('-').describe('CSV file to read; `-` reads stdin'),
  columns: z
    .union([z.literal(true), columnNames, z.string().transform((names) => names.split(',').map((name) => name.trim())).pipe(columnNames)])
    .default(true)
    .describe('`true`: the first row names the columns; or the names of the columns of a file without a header row (a list, or text with commas: `id,email`)'),
  delimiter: z
    .string()
    .min(1)
    .refine(isDelimiter, { error: (issue) => `${JSON.stringify(issue.input)} cannot separate cells: give characters that are not letters, digits, quotes or line breaks, such as , ; | || or tab` })
    .optional()
    .describe('Separator between cells: `,`, `;`, `|`, or a tab (`tab` or `\\t`); default `,`, or the one a header row of one column holds (`;`, a tab or `|`, as Excel writes in many locales)'),
  encoding: z
    .string()
    .default('utf-8')
    .refine(isKnownEncoding, { error: (issue) => `unknown encoding ${JSON.stringify(issue.input)}; try utf-8, windows-1252, latin1 or utf-16le` })
    .describe('Character encoding of the file (utf-8, windows-1252, latin1, utf-16le, ...); a byte order mark overrides it'),
});

const shownDelimiter = (delimiter: string) => (delimiter === '\t' ? 'tab' : delimiter);

/** A tab is hard to type in a shell or YAML: `tab` and `\\t` (as typed, two characters) mean one. */
function delimiterOf(option: string): string {
  return option === 'tab' || option === '\\t' ? '\t' : option;
}

/** Characters that are not a cell's own text as exports write it (`ab` or `x` would split every name). */
function isDelimiter(option: string): boolean {
  return !/[\p{L}\p{N}"\r\n]/u.test(delimiterOf(option));
}

function isKnownEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/** The cells `first` up to (not including) `end` of a batch. */
function cellsOf(batch: RowBatch, first: number, end: number): string[] {
  const cells: string[] = [];
  for (let cell = first; cell < end; cell++) cells.push(batch.text.slice(cell === 0 ? 0 : batch.cellEnds[cell - 1], batch.cellEnds[cell]));
  return cells;
}

function nameCells(columns: string[], batch: RowBatch, first: number, end: number): Record<string, string> {
  const named: Record<string, string> = {};
  const { text, cellEnds } = batch;
  const count = Math.min(columns.length, end - first);
  let start = first === 0 ? 0 : cellEnds[first - 1];
  for (let index = 0; index < count; index++) {
    const cellEnd = cellEnds[first + index];
    named[columns[index]] = text.slice(start, cellEnd);
    start = cellEnd;
  }
  return named;
}

/** Header names, each repeated one numbered (`email`, `email_2`): the later cell would otherwise overwrite the first. */
function uniqueNames(header: string[], warn: (message: string) => void): string[] {
  const seen = new Set<string>();
  /** The suffix to try next for each repeated name, and the names its repeats are read as. */
  const repeats = new Map<string, { next: number; readAs: string[] }>();
  const names = header.map((name) => {
    if (!seen.has(name)) {
      seen.add(name);
      return name;
    }
    const repeat = repeats.get(name) ?? { next: 2, readAs: [] };
    repeats.set(name, repeat);
    let unique = `${name}_${repeat.next++}`;
    while (seen.has(unique)) unique = `${name}_${repeat.next++}`;
    seen.add(unique);
    repeat.readAs.push(unique);
    return unique;
  });
  // One warning per name: a spreadsheet saved with its empty columns names "" thousands of times.
  for (const [name, { readAs }] of repeats) {
    const [first, last] = [JSON.stringify(readAs[0]), JSON.stringify(readAs[readAs.length - 1])];
    warn(
      readAs.length === 1
        ? `the header names column ${JSON.stringify(name)} again; this one is read as ${first}`
        : `the header names column ${JSON.stringify(name)} ${readAs.length} more times; they are read as ${readAs.length === 2 ? `${first} and ${last}` : `${first} to ${last}`}`,
    );
  }
  return names;
}

interface HeaderRow {
  cells: string[];
  sorted: string[];
  names: Set<string>;
}

/** A file joined after another keeps its byte order mark, before its header's first name. */
const withoutBom = (cell: string) => (cell.startsWith('\uFEFF') ? cell.slice(1) : cell);

function headerRowOf(cells: string[]): HeaderRow {
  return { cells, sorted: cells.toSorted(), names: new Set(cells) };
}

/** Where a row with more cells than columns keeps the cells past the last column. */
const EXTRA_CELLS = '(cells past the last column)';

function raggedRowIssue(place: string, expected: number, got: number): Issue {
  return {
    stage: 'csv',
    code: 'csv.ragged_row',
    level: 'error',
    message: `${place}: expected ${expected} cells (one per column), got ${got}`,
  };
}

/** Bytes the encoding could not decode come out as U+FFFD: importing them would write a mangled name or email. */
function undecodedIssue(place: string, encoding: string): Issue {
  return {
    stage: 'csv',
    code: 'csv.undecodable',
    level: 'error',
    message: `${place}: has bytes that are not ${encoding} (read as U+FFFD); if the file was saved in another encoding, set the source's encoding (e.g. windows-1252)`,
  };
}

const PARSE_ERROR_REASONS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quote opened in this record is never closed',
  RUNAWAY_QUOTE: 'a quote opened on this line is not closed where its row ends, so the row is left out; the lines after it are read as rows',
  INPUT_CUT_SHORT: 'the input failed inside this row (see the error that stopped the run), so what was read of it is left out',
  CSV_MAX_RECORD_SIZE: 'the record is longer than 8 MiB (a quote opened on this line and never closed?), so it is left out and reading goes on at the next line',
};

// csv-parse's own message may quote the cell, which can be a password hash: only its code is repeated.
function parseErrorReason(errorCode: string): string {
  return PARSE_ERROR_REASONS[errorCode] ?? `the record cannot be parsed (${errorCode})`;
}

function badHeader(place: string): AuthpipeError {
  return new AuthpipeError('csv.bad_header', `${place}: the header row cannot be read: a quote opened in it is not closed on its line`);
}

/** Separators exports use besides the comma: Excel in many locales writes `;`, its "Unicode text" a tab. */
const OTHER_DELIMITERS = [';', '\t', '|', ','];

/** Column names such as `@timestamp` or `$email` (analytics exports) are names; `ana@example.com` and `$2a$10$...` are not. */
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_LIKE = /^\+?\d[\d\s().-]{6,}$/;

/**
 * A password hash as exports write them: modular crypt (`$2a$10$...`, `$argon2id$...`), fields joined by `$`
 * (`pbkdf2_sha256$27500$salt$hash`), or a bare digest in hex or Base64: mixed case and digits, with a `+`, `/` or
 * `=` (which names lack), or else with digits spread through it and no `_` (which long names such as Salesforce's
 * `Secondary_Contact_Email_Address_2__c` have).
 */
function isHashLike(text: string): boolean {
  if (/^\$[\w-]+\$/.test(text) || (text.length >= 20 && /^[^\s$]+(\$[^\s$]*){2,}$/.test(text))) return true;
  if (/^[\dA-Fa-f]{32,}$/.test(text)) return true;
  if (text.length < 32 || !/^[\w+/=-]+$/.test(text) || !/\d/.test(text) || !/[A-Z]/.test(text) || !/[a-z]/.test(text)) return false;
  return /[+/=]/.test(text) || (!text.includes('_') && (text.match(/\d/g)?.length ?? 0) >= 3);
}

/**
 * A header cell that is an email address, a phone number or a password hash is a user's data: the file has no header
 * row. Taking that row for one would lose the user and repeat their hash in every message naming columns.
 */
function dataInHeader(header: string[]): string | undefined {
  for (const [index, name] of header.entries()) {
    if (EMAIL_LIKE.test(name)) return `column ${index + 1} holds an email address`;
    if (PHONE_LIKE.test(name)) return `column ${index + 1} holds a phone number`;
    if (isHashLike(name)) return `column ${index + 1} holds what looks like a password hash`;
  }
  return undefined;
}

function parseErrorIssue(place: string, errorCode: string): Issue {
  return { stage: 'csv', code: 'csv.parse_error', level: 'error', message: `${place}: ${parseErrorReason(errorCode)}` };
}

export const csvSource = defineSource({
  name: 'csv',
  summary: 'Reads a CSV file (or stdin) as raw records named by its header row; ragged or broken rows become issues.',
  options,
  async *create(options, ctx) {
    let delimiter = delimiterOf(options.delimiter ?? ',');
    const input = await openInput(options.path, ctx);
    ctx.runProgress.inputShare = input.share;
    let columns = options.columns === true ? undefined : options.columns;
    /** The header row as the file wrote it (the last one read); unset when `columns` names the columns. */
    let headerRow: HeaderRow | undefined;
    let seq = 0;
    let toldUtf8 = false;
    try {
      const format = { encoding: options.encoding, delimiter, detectDelimiter: options.delimiter === undefined && columns === undefined, columnCount: columns?.length };
      for await (const batch of parseInThread(input.stream, format, ctx.signal)) {
        const undecoded = batch.undecodable && batch.text.includes(REPLACEMENT_CHARACTER);
        if (batch.readsAsUtf8 && !toldUtf8) {
          toldUtf8 = true;
          ctx.log.warn(
            `${input.name}: read as ${options.encoding} as the source's encoding says, but its bytes are UTF-8 (é reads as Ã©): if the file was saved as UTF-8, leave the encoding unset`,
          );
        }
        let cell = 0;
        let failure = 0;
        for (let row = 0; row < batch.lines.length; row++) {
          if (ctx.signal.aborted) return;
          const origin = { file: input.name, line: batch.lines[row] };
          const first = cell;
          cell = batch.rowEnds[row];
          if (cell === first) {
            const errorCode = batch.errorCodes[failure++];
            // Without its header no row can be named: the next row taken for it would lose a user and misname the rest.
            if (columns === undefined) throw badHeader(describeOrigin(origin));
            yield rawEnvelope(++seq, origin, {}, [parseErrorIssue(describeOrigin(origin), errorCode)]);
            continue;
          }
          if (columns === undefined) {
            const header = cellsOf(batch, first, cell);
            // A line break inside a column name is a quote in the header closed on a later line, over the first rows.
            if (header.some((name) => name.includes('\n') || name.includes('\r'))) throw badHeader(describeOrigin(origin));
            // Every other byte of a UTF-16 file without its byte order mark is a NUL when read as UTF-8: no column would be found.
            if (header.some((name) => name.includes('\0'))) {
              throw new AuthpipeError(
                'csv.wrong_encoding',
                `${describeOrigin(origin)}: the header row holds NUL characters, as a UTF-16 file without a byte order mark read as ${options.encoding} does; set the source's encoding (--encoding utf-16le, or utf-16be)`,
              );
            }
            const data = dataInHeader(header);
            if (data !== undefined) {
              throw new AuthpipeError(
                'csv.no_header',
                `${describeOrigin(origin)}: the first row looks like a user, not column names (${data}); if the file has no header row, name its columns with the \`columns\` option (--columns for \`read csv\`)`,
              );
            }
            if (batch.delimiter !== delimiter) {
              delimiter = batch.delimiter;
              ctx.log.warn(`${describeOrigin(origin)}: the header row separates its columns with "${shownDelimiter(delimiter)}", so the file is read with it (set the source's delimiter to read it otherwise)`);
            }
            const otherDelimiter = header.length === 1 ? OTHER_DELIMITERS.find((candidate) => candidate !== delimiter && header[0].includes(candidate)) : undefined;
            if (otherDelimiter !== undefined) {
              const shown = shownDelimiter(otherDelimiter);
              ctx.log.warn(`${describeOrigin(origin)}: the header row is one column holding "${shown}": if the file separates its cells with "${shown}", set the source's delimiter (--delimiter '${shown}')`);
            }
            columns = uniqueNames(header, (renamed) => ctx.log.warn(`${describeOrigin(origin)}: ${renamed}`));
            headerRow = headerRowOf(header);
            continue;
          }
          const cells = cell - first;
          const named = nameCells(columns, batch, first, cell);
          // Exports joined with `cat`: each brings its header row, its columns perhaps in another order.
          if (headerRow !== undefined && cells === columns.length && headerRow.names.has(withoutBom(named[columns[0]]))) {
            const row = cellsOf(batch, first, cell);
            row[0] = withoutBom(row[0]);
            if (isDeepStrictEqual(row.toSorted(), headerRow.sorted)) {
              const place = describeOrigin(origin);
              if (isDeepStrictEqual(row, headerRow.cells)) {
                ctx.log.warn(`${place}: the header row again (files joined?); it is skipped`);
              } else {
                columns = uniqueNames(row, (renamed) => ctx.log.warn(`${place}: ${renamed}`));
                headerRow = headerRowOf(row);
                ctx.log.warn(`${place}: the header row again, with its columns in another order (exports joined?); the rows after it are read by it`);
              }
              continue;
            }
          }
          const issues = cells === columns.length ? [] : [raggedRowIssue(describeOrigin(origin), columns.length, cells)];
          if (undecoded && cellsOf(batch, first, cell).some((text) => text.includes(REPLACEMENT_CHARACTER))) {
            issues.push(undecodedIssue(describeOrigin(origin), options.encoding));
          }
          // Kept for whoever fixes the row (a rejects file): a cell past the last column may be the email.
          const record = cells > columns.length ? { ...named, [EXTRA_CELLS]: cellsOf(batch, first + columns.length, cell) } : named;
          yield rawEnvelope(++seq, origin, record, issues);
        }
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
    // A failed export job often leaves an empty file behind: zero rows must not pass for a finished migration.
    if (seq === 0) ctx.log.warn(`${input.name}: no records read (${columns === undefined ? 'the file is empty or blank' : 'only a header row'})`);
  },
});
