// A JSON document holding an array of records (top level, or under `key` such as Firebase's `users`), streamed
// element by element with stream-json: the document is never held whole.
//
// stream-json's parser names no place when it fails, and a failure in the middle of a read chunk loses the records
// the chunk held before it. So each chunk goes first through stream-json's verifier, which names the line and column
// of the first fault: the parser then gets only the text before it, and every record complete before the fault (a
// file cut short, the usual fault) is read. The parser and the streamer run as plain functions (stream-chain's
// `fun`), not as streams: that saves about what the verifier costs.
import { addAbortSignal } from 'node:stream';
import fun from 'stream-chain/fun.js';
import { getManyValues, none, type Many } from 'stream-chain/defs.js';
import { jsonParser, type Token, type TokenName } from 'stream-json/core/parser.js';
import { pick } from 'stream-json/core/filters/pick.js';
import { streamArray, type StreamArrayItem } from 'stream-json/core/streamers/stream-array.js';
import { jsonVerifier, type VerifierError } from 'stream-json/utils/verifier.js';
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

/**
 * The text with no chunk ending between the CR and the LF of a CRLF: the verifier counts a CR that ends one chunk and
 * an LF that opens the next as two line breaks, and every later line number would be one too high.
 */
async function* withWholeLineBreaks(texts: AsyncIterable<string>): AsyncGenerator<string> {
  let carried = '';
  for await (const text of texts) {
    const whole = carried === '' ? text : carried + text;
    carried = whole.endsWith('\r') ? '\r' : '';
    const sent = carried === '' ? whole : whole.slice(0, -1);
    if (sent !== '') yield sent;
  }
  if (carried !== '') yield carried;
}

const BLANK = /^\s*$/;

function invalidJson(place: string, reason: string, key: string | undefined, lastRead: number | undefined): AuthpipeError {
  const read = lastRead === undefined ? 'no record was read' : `the records before it were read (the last: ${key ?? ''}[${lastRead}]), none after it`;
  return new AuthpipeError('json.invalid', `${place}: not valid JSON (${reason}); ${read}`);
}

export const jsonSource = defineSource({
  name: 'json',
  summary: 'Streams the records of a JSON array (the whole document, or the array at `key`) from a file or stdin; numbers are kept as their exact text.',
  options,
  async *create(options, ctx) {
    const { key } = options;
    const input = await openInput(options.path, ctx);
    const where = key === undefined ? 'the top level' : `\`${key}\``;
    // The first token that reaches the streamer says whether an array is there at all.
    let first: TokenName | undefined;
    const noteFirst = (token: Token) => {
      first ??= token.name;
      return token;
    };
    const tokens = key === undefined ? [jsonParser(PARSER_OPTIONS)] : [jsonParser(PARSER_OPTIONS), pick({ filter: key })];
    // Numbers are kept as their text, as a CSV cell would be: a numeric id past 2^53 (Auth0, Firebase exports) would
    // otherwise be rounded into another user's id. Every stage is synchronous, so each call returns its items at once.
    const elements = fun(...tokens, noteFirst, streamArray({ numberAsString: true })) as (text: string | typeof none) => Many<StreamArrayItem>;
    // A flushable stage takes `none` for the end of its input, which its type leaves out.
    const verify = jsonVerifier() as (text: string | typeof none) => unknown;
    let fault: VerifierError | undefined;
    let lastRead: number | undefined;
    let charsRead = 0;
    let blank = true;

    try {
      // The signal ends a read that waits on stdin, as well as the loop below.
      for await (const text of withWholeLineBreaks(textOf(addAbortSignal(ctx.signal, input.stream)))) {
        let sound = text;
        try {
          verify(text);
        } catch (error) {
          fault = error as VerifierError;
          // A fault the verifier needed to see past (a mistyped `true`, a bad escape) may lie in the chunk before.
          sound = text.slice(0, Math.max(0, fault.offset - charsRead));
        }
        charsRead += text.length;
        blank &&= BLANK.test(text);
        for (const item of getManyValues(elements(sound))) {
          if (ctx.signal.aborted) return;
          lastRead = item.key;
          yield elementEnvelope(item, input.name, key);
        }
        if (fault !== undefined) break;
      }
      if (fault === undefined) {
        try {
          verify(none);
        } catch (error) {
          fault = error as VerifierError;
        }
      }
      if (fault === undefined) for (const item of getManyValues(elements(none))) yield elementEnvelope(item, input.name, key);
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (first !== undefined && first !== 'startArray') {
        const code = key === undefined ? 'json.invalid' : 'json.key_not_found';
        throw new AuthpipeError(code, `${input.name}: ${where} is ${KIND_OF_TOKEN[first] ?? first}, not an array of records`);
      }
      // The parser's own errors carry no code (the verifier should have met the fault first); a coded one comes from
      // the file system, not from the document.
      if (error instanceof Error && !('code' in error)) throw invalidJson(input.name, error.message.replace(/^.*cannot parse input: /, ''), key, lastRead);
      throw error;
    }
    if (fault !== undefined) {
      const atEnd = fault.offset >= charsRead;
      const reason = !atEnd
        ? fault.message.replace(/^.*cannot parse input: /, '')
        : blank
          ? 'the file is empty'
          : 'the file ends inside the document: was it cut short?';
      throw invalidJson(`${input.name}:${fault.line}:${fault.pos}`, reason, key, lastRead);
    }
    if (first === undefined && key !== undefined) {
      throw new AuthpipeError('json.key_not_found', `${input.name}: no array of records at ${where}`);
    }
  },
});
