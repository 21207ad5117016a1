// A CSV export as raw records: one envelope per data row, its cells named by the header row (or `columns`).
import { addAbortSignal, pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { describeOrigin, rawEnvelope, type Issue } from '../pipelines/record.ts';
import { openInput } from './input.ts';

const options = z.object({
  path: inputPath().default('-').describe('CSV file to read; `-` reads stdin'),
  columns: z
    .union([z.literal(true), z.array(z.string().min(1)).min(1)])
    .default(true)
    .describe('`true`: the first row names the columns; or the names of the columns of a file without a header row'),
  delimiter: z.string().min(1).default(',').describe('Separator between cells'),
});

/**
 * What the parser hands over: a record with its text (`raw: true`), or a record csv-parse gave up on.
 * With `relax_quotes` the only such record is a quote still open at the end of the input.
 */
type ParsedRow = { record: string[]; raw: string } | { error: CsvError; raw: string };

const LF = 10;

/**
 * LF, CRLF and a lone CR each end one line. csv-parse's own `info.lines` counts a quoted CRLF twice (and its `info`
 * option costs more than the `raw` text this counts in). indexOf searches natively, far faster than a loop in script
 * over every character; most exports have no CR at all, so the second search usually ends at once.
 */
function countLineBreaks(text: string): number {
  let breaks = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) breaks++;
  for (let at = text.indexOf('\r'); at !== -1; at = text.indexOf('\r', at + 1)) {
    if (text.charCodeAt(at + 1) !== LF) breaks++;
  }
  return breaks;
}

function isBlankLine(cells: string[]): boolean {
  return cells.length === 1 && cells[0].trim() === '';
}

function nameCells(columns: string[], cells: string[]): Record<string, string> {
  const named: Record<string, string> = {};
  const count = Math.min(columns.length, cells.length);
  for (let index = 0; index < count; index++) named[columns[index]] = cells[index];
  return named;
}

function raggedRowIssue(place: string, expected: number, got: number): Issue {
  return {
    stage: 'csv',
    code: 'csv.ragged_row',
    level: 'error',
    message: `${place}: expected ${expected} cells (one per column), got ${got}`,
  };
}

// csv-parse's own message may quote the cell, which can be a password hash: only its code is repeated.
function parseErrorIssue(place: string, error: CsvError): Issue {
  const reason =
    error.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quote opened in this record is never closed' : `the record cannot be parsed (${error.code})`;
  return { stage: 'csv', code: 'csv.parse_error', level: 'error', message: `${place}: ${reason}` };
}

export const csvSource = defineSource({
  name: 'csv',
  summary: 'Reads a CSV file (or stdin) as raw records named by its header row; ragged or broken rows become issues.',
  options,
  async *create(options, ctx) {
    const input = await openInput(options.path, ctx);
    const parser = parse({
      bom: true,
      delimiter: options.delimiter,
      raw: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_records_with_error: true,
    });
    // The skip event fires in the middle of parsing: pushing the failure into the parser's own output keeps it in
    // order with the records around it, so it gets its sequence number and line like any other record.
    parser.on('skip', (error: CsvError, raw: string) => parser.push({ error, raw }));
    const rows: AsyncIterable<ParsedRow> = addAbortSignal(
      ctx.signal,
      pipeline(input.stream, parser, () => undefined),
    );

    let columns = options.columns === true ? undefined : options.columns;
    let nextLine = 1;
    let seq = 0;
    try {
      for await (const row of rows) {
        const line = nextLine;
        nextLine += countLineBreaks(row.raw);
        const origin = { file: input.name, line };
        if ('error' in row) {
          yield rawEnvelope(++seq, origin, {}, [parseErrorIssue(describeOrigin(origin), row.error)]);
          continue;
        }
        if (isBlankLine(row.record)) continue;
        if (columns === undefined) {
          columns = row.record;
          continue;
        }
        const issues =
          row.record.length === columns.length ? [] : [raggedRowIssue(describeOrigin(origin), columns.length, row.record.length)];
        yield rawEnvelope(++seq, origin, nameCells(columns, row.record), issues);
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
  },
});
