// NDJSON: one JSON object per line. A line that already is an envelope passes through untouched, which is how
// Unix-chain verbs hand records to each other (`authpipe read csv users.csv | authpipe map ...`).
import { addAbortSignal, type Readable } from 'node:stream';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { rawEnvelope, type Envelope, type Origin } from '../pipelines/record.ts';
import { openInput } from './input.ts';

const options = z.object({
  path: inputPath().default('-').describe('NDJSON file to read; `-` reads stdin'),
});

const BYTE_ORDER_MARK = '\uFEFF';
const NOT_BLANK = /\S/;

/**
 * Every line of a text stream, without its LF or CRLF. Only the newest chunk is searched, and a line longer
 * than a chunk grows by concatenation, so very long lines cost linear time.
 */
async function* linesOf(stream: Readable): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  let pending = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    let newline = chunk.indexOf('\n');
    while (newline !== -1) {
      const line = pending + chunk.slice(start, newline);
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
      pending = '';
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    pending += chunk.slice(start);
  }
  if (pending !== '') yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEnvelope(value: Record<string, unknown>): value is Record<string, unknown> & Envelope {
  return typeof value.seq === 'number' && isObject(value.user) && Array.isArray(value.issues);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function invalidLine(seq: number, origin: Origin, reason: string): Envelope {
  const issue = { stage: 'ndjson', code: 'ndjson.invalid_json', level: 'error' as const, message: `${origin.file}:${origin.line}: ${reason}` };
  return rawEnvelope(seq, origin, {}, [issue]);
}

/** A raw record, an envelope from an earlier verb, or an error envelope for a line that is not a JSON object. */
function envelopeOf(text: string, seq: number, origin: Origin): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse quotes the offending text, which may hold a password hash: the message only says where.
    return invalidLine(seq, origin, 'the line is not valid JSON');
  }
  if (!isObject(value)) return invalidLine(seq, origin, `the line is ${kindOf(value)}, not a JSON object`);
  return isEnvelope(value) ? value : rawEnvelope(seq, origin, value);
}

export const ndjsonSource = defineSource({
  name: 'ndjson',
  summary: 'Reads NDJSON (a file or stdin): raw records, or envelopes written by another authpipe verb.',
  options,
  async *create(options, ctx) {
    const input = await openInput(options.path, ctx);
    let line = 0;
    let seq = 0;
    try {
      for await (const text of linesOf(addAbortSignal(ctx.signal, input.stream))) {
        line++;
        // A byte order mark opens the file, or a line where files with one were joined (`cat a.ndjson b.ndjson`).
        const content = text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
        if (!NOT_BLANK.test(content)) continue;
        yield envelopeOf(content, ++seq, { file: input.name, line });
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
  },
});
