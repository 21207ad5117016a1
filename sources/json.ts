// A JSON document holding an array of records (top level, or under `key` such as Firebase's `users`), streamed
// element by element with stream-json: the document is never held whole.
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { parser, type TokenName } from 'stream-json/parser.js';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray, type StreamArrayItem } from 'stream-json/streamers/stream-array.js';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { rawEnvelope, type Envelope, type Origin } from '../pipelines/record.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import { openInput, textOf } from './input.ts';
import { isObject, kindOf } from './json-value.ts';

const options = z.object({
  path: inputPath().default('-').describe('JSON file to read; `-` reads stdin'),
  key: z
    .string()
    .min(1)
    .optional()
    .describe('Dotted path to the array of records, e.g. `users` or `data.users`; absent: the document itself is the array'),
});

// Strings and numbers as single tokens: fewer tokens per record, and all the streamer reads anyway.
const PARSER_OPTIONS = { streamValues: false };

const KIND_OF_TOKEN: Partial<Record<TokenName, string>> = {
  startObject: 'an object',
  startString: 'a string',
  stringValue: 'a string',
  startNumber: 'a number',
  numberValue: 'a number',
  trueValue: 'a boolean',
  falseValue: 'a boolean',
  nullValue: 'null',
};

function elementEnvelope(item: StreamArrayItem, file: string, key: string | undefined): Envelope {
  // stream-json gives no line numbers: the origin names the element instead, `users[41]` (zero-based).
  const origin: Origin = { file, page: `${key ?? ''}[${item.key}]` };
  if (isObject(item.value)) return rawEnvelope(item.key + 1, origin, item.value);
  const issue = {
    stage: 'json',
    code: 'json.not_an_object',
    level: 'error' as const,
    message: `${file} ${origin.page}: the element is ${kindOf(item.value)}, not an object`,
  };
  return rawEnvelope(item.key + 1, origin, {}, [issue]);
}

export const jsonSource = defineSource({
  name: 'json',
  summary: 'Streams the records of a JSON array (the whole document, or the array at `key`) from a file or stdin; numbers are kept as their exact text.',
  options,
  async *create(options, ctx) {
    const { key } = options;
    const input = await openInput(options.path, ctx);
    const where = key === undefined ? 'the top level' : `\`${key}\``;
    const tokens = key === undefined ? parser.asStream(PARSER_OPTIONS) : pick.withParserAsStream({ ...PARSER_OPTIONS, filter: key });
    const elements: AsyncIterable<StreamArrayItem> = addAbortSignal(
      ctx.signal,
      // Numbers are kept as their text, as a CSV cell would be: a numeric id past 2^53 (Auth0, Firebase exports) would
      // otherwise be rounded into another user's id.
      pipeline(Readable.from(textOf(input.stream)), tokens, streamArray.asStream({ numberAsString: true }), () => undefined),
    );
    // The first token that reaches the streamer says whether an array is there at all, without a per-token cost.
    let first: TokenName | undefined;
    tokens.once('data', (token: { name: TokenName }) => {
      first = token.name;
    });

    // stream-json's errors say what was wrong but not where. The last record read is a landmark the user can find: the
    // error lies after it (it may be a read chunk further on, as records are handed over a chunk at a time).
    let lastRead: number | undefined;
    try {
      for await (const item of elements) {
        lastRead = item.key;
        yield elementEnvelope(item, input.name, key);
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (first !== undefined && first !== 'startArray') {
        const code = key === undefined ? 'json.invalid' : 'json.key_not_found';
        throw new AuthpipeError(code, `${input.name}: ${where} is ${KIND_OF_TOKEN[first] ?? first}, not an array of records`);
      }
      // stream-json's parse errors carry no code; a coded one comes from the file system, not from the document.
      if (error instanceof Error && !('code' in error)) {
        const place = lastRead === undefined ? 'before any record was read' : `after ${key ?? ''}[${lastRead}], the last record read`;
        const reason = error.message.replace(/^Parser (cannot parse input: |has )/, '');
        throw new AuthpipeError('json.invalid', `${input.name}: not valid JSON ${place} (${reason})`);
      }
      throw error;
    }
    if (first === undefined && key !== undefined) {
      throw new AuthpipeError('json.key_not_found', `${input.name}: no array of records at ${where}`);
    }
  },
});
