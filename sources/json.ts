// A JSON document holding an array of records (top level, or under `key` such as Firebase's `users`), streamed
// element by element with stream-json: the document is never held whole.
//
// stream-json's parser names no place when it fails, and a failure in the middle of a read chunk loses the records
// the chunk held before it. So each chunk goes first through stream-json's verifier, which says where the first fault
// is: the parser then gets only the text before it, and every record complete before the fault (a file cut short,
// the usual fault) is read; the fault's line and column are counted from the text read. The parser and the streamer run as plain functions (stream-chain's
// `fun`), not as streams: that saves about what the verifier costs.
import { addAbortSignal } from 'node:stream';
import fun from 'stream-chain/fun.js';
import { getManyValues, many, none, type Many } from 'stream-chain/defs.js';
import { jsonParser, type Token, type TokenName } from 'stream-json/core/parser.js';
import { pick } from 'stream-json/core/filters/pick.js';
import { streamArray, type StreamArrayItem } from 'stream-json/core/streamers/stream-array.js';
import { jsonVerifier, type VerifierError } from 'stream-json/utils/verifier.js';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { rawEnvelope, type Envelope, type Origin } from '../pipelines/record.ts';
import { AuthpipeError } from '../pipelines/errors.ts';
import { openInput, textOf, UNDECODED_REASON, type Decoding } from './input.ts';
import { holdsUndecodedText, isObject, keptAsText, kindOf, MAX_NESTING, nestsTooDeep } from './json-value.ts';

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

function elementEnvelope(item: StreamArrayItem, file: string, key: string | undefined, decoding: Decoding, oversized: Set<number>): Envelope {
  // stream-json gives no line numbers: the origin names the element instead, `users[41]` (zero-based).
  const origin: Origin = { file, page: `${key ?? ''}[${item.key}]` };
  const refused = (code: string, reason: string) =>
    rawEnvelope(item.key + 1, origin, {}, [{ stage: 'json', code, level: 'error', message: `${file} ${origin.page}: ${reason}` }]);
  if (oversized.delete(item.key)) {
    return refused('json.element_too_large', 'the element is longer than 8 MiB, so it is left out (if it holds the records, name their array with `key`, e.g. data.1.users)');
  }
  if (!isObject(item.value)) return refused('json.not_an_object', `the element is ${kindOf(item.value)}, not an object`);
  if (nestsTooDeep(item.value)) return refused('json.too_deep', `the element nests values more than ${MAX_NESTING} deep`);
  if (decoding.undecodable && holdsUndecodedText(item.value)) return refused('json.undecodable', `the element ${UNDECODED_REASON}`);
  return rawEnvelope(item.key + 1, origin, item.value);
}

/**
 * The text with no chunk ending between the CR and the LF of a CRLF: line breaks are counted a chunk at a time, and a
 * CR ending one chunk and an LF opening the next would count as two, every later line number one too high.
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
/**
 * Numbers stay numbers, as JSON.parse makes them (also inside an object kept whole as metadata), except a whole number
 * past 2^53, which becomes its exact text (keptAsText): a numeric id (Auth0, Firebase exports) would otherwise be
 * rounded into another user's id. The ndjson source does the same.
 */
function exactIntegerToken(token: Token): Token {
  if (token.name !== 'numberValue' || !keptAsText(token.value)) return token;
  return { name: 'stringValue', value: token.value };
}
/**
 * Characters one record may span, as many as an NDJSON line: a bigger one is most likely not a record but the whole
 * export read as one (a `key` one level too high), which would be held whole in memory.
 */
const MAX_ELEMENT_CHARS = 8 * 1024 * 1024;

const END_OF: Record<'object' | 'array', Token> = { object: { name: 'endObject' }, array: { name: 'endArray' } };

/**
 * Leaves out an element of the array longer than MAX_ELEMENT_CHARS before it is assembled whole: what was passed of it
 * is closed (a key's value as null, each open container ended), its index goes into `oversized` for the envelope to
 * refuse, and the rest of it is dropped up to its end; the elements after it are read. The first element stops the
 * reading instead: it is most likely the whole export, under a `key` one level too high.
 */
function elementSizeLimit(file: string, key: string | undefined, oversized: Set<number>): (token: Token) => Token | Many<Token> | typeof none {
  let depth = 0;
  let chars = 0;
  let index = 0;
  let skipping = false;
  /** The containers of the current element passed on and still open, outermost first. */
  const open: ('object' | 'array')[] = [];
  /** Whether the innermost open object was passed a key without its value yet. */
  let keyPending = false;
  return (token) => {
    if (token.name === 'startObject' || token.name === 'startArray') depth++;
    else if (token.name === 'endObject' || token.name === 'endArray') depth--;
    // Back at the array's own level: an element has ended (or was a scalar).
    if (depth <= 1 && token.name !== 'startArray') {
      if (depth === 1) index++;
      chars = 0;
      open.length = 0;
      keyPending = false;
      if (skipping) {
        skipping = false;
        return none;
      }
      return token;
    }
    if (skipping) return none;
    chars += 'value' in token && typeof token.value === 'string' ? token.value.length + 3 : 1;
    if (chars > MAX_ELEMENT_CHARS && depth > 1) {
      if (index === 0) {
        throw new AuthpipeError(
          'json.element_too_large',
          `${file} ${key ?? ''}[${index}]: the first element is longer than 8 MiB, so the reading stops there: ` +
            'it is likely the whole export, not one record; if the records are an array inside it, name that array with `key` (e.g. data.users, or data.0.users)',
        );
      }
      skipping = true;
      oversized.add(index);
      const closing = open.reverse().map((kind) => END_OF[kind]);
      return many(keyPending ? [{ name: 'nullValue', value: null }, ...closing] : closing);
    }
    if (token.name === 'startObject' || token.name === 'startArray') open.push(token.name === 'startObject' ? 'object' : 'array');
    else if (token.name === 'endObject' || token.name === 'endArray') open.pop();
    keyPending = token.name === 'keyValue';
    return token;
  };
}

/** What stream-json's parser and verifier put before their reason: `ERROR at 9 (1, 10): Verifier cannot parse input: `. */
const STREAM_JSON_PREFIX = /^.*?(?:Parser|Verifier) (?:cannot parse input: |has )/;

/** Where a text's line breaks are, as an editor counts them: LF, CRLF and a lone CR. */
interface LinePlace {
  line: number;
  /** Offset of the line's first character. */
  lineStart: number;
}

/** Moves `place` past the line breaks in `text` before `end`; `start` is the text's offset. CRLF is never split. */
function passLineBreaks(text: string, end: number, start: number, place: LinePlace): void {
  for (let at = text.indexOf('\n'); at !== -1 && at < end; at = text.indexOf('\n', at + 1)) {
    place.line++;
    place.lineStart = Math.max(place.lineStart, start + at + 1);
  }
  for (let at = text.indexOf('\r'); at !== -1 && at < end; at = text.indexOf('\r', at + 1)) {
    if (text[at + 1] === '\n') continue;
    place.line++;
    place.lineStart = Math.max(place.lineStart, start + at + 1);
  }
}

/**
 * Lines and columns of the text read, as an editor counts them: the verifier's own count also ends a line at U+2028
 * and U+2029, which JSON allows unescaped in strings (JSON.stringify writes them so). The last two chunks are kept:
 * a fault the verifier meets a chunk late lies in the one before.
 */
class TextPlaces {
  private kept: { text: string; start: number; place: LinePlace }[] = [];
  private readonly place: LinePlace = { line: 1, lineStart: 0 };
  /** Characters read so far. */
  end = 0;

  add(text: string): void {
    this.kept = [...this.kept.slice(-1), { text, start: this.end, place: { ...this.place } }];
    passLineBreaks(text, text.length, this.end, this.place);
    this.end += text.length;
  }

  /** The line and column (from 1) of `offset`, or undefined when it lies before the chunks kept. */
  placeOf(offset: number): { line: number; column: number } | undefined {
    const chunk = this.kept.findLast((candidate) => candidate.start <= offset);
    if (chunk === undefined) return undefined;
    const place = { ...chunk.place };
    passLineBreaks(chunk.text, offset - chunk.start, chunk.start, place);
    return { line: place.line, column: offset - place.lineStart + 1 };
  }

  /** The text from `offset` to the end, as far as the chunks kept hold it. */
  textFrom(offset: number): string {
    return this.kept.map(({ text, start }) => text.slice(Math.max(0, offset - start))).join('');
  }
}

/** A `true`, `false` or `null`, or a string's escape, the file ends in the middle of. */
function isCutToken(tail: string): boolean {
  return ['true', 'false', 'null'].some((word) => word.length > tail.length && word.startsWith(tail)) || /^\\(u[0-9a-fA-F]{0,3})?$/.test(tail);
}

function invalidJson(place: string, reason: string, key: string | undefined, lastRead: number | undefined): AuthpipeError {
  const read = lastRead === undefined ? 'no record was read' : `the records before it were read (the last: ${key ?? ''}[${lastRead}]), none after it`;
  return new AuthpipeError('json.invalid', `${place}: not valid JSON (${reason}); ${read}`);
}

export const jsonSource = defineSource({
  name: 'json',
  summary: 'Streams the records of a JSON array (the whole document, or the array at `key`) from a file or stdin; integers past 2^53 are kept as their exact text.',
  options,
  async *create(options, ctx) {
    const { key } = options;
    const input = await openInput(options.path, ctx);
    ctx.runProgress.inputShare = input.share;
    const where = key === undefined ? 'the top level' : `\`${key}\``;
    // The first token that reaches the streamer says whether an array is there at all.
    let first: TokenName | undefined;
    const noteFirst = (token: Token) => {
      first ??= token.name;
      return token;
    };
    const tokens = key === undefined ? [jsonParser(PARSER_OPTIONS)] : [jsonParser(PARSER_OPTIONS), pick({ filter: key })];
    const oversized = new Set<number>();
    // Every stage is synchronous, so each call returns its items at once.
    const elements = fun(...tokens, noteFirst, elementSizeLimit(input.name, key, oversized), exactIntegerToken, streamArray()) as (text: string | typeof none) => Many<StreamArrayItem>;
    // A flushable stage takes `none` for the end of its input, which its type leaves out.
    const verify = jsonVerifier() as (text: string | typeof none) => unknown;
    let fault: VerifierError | undefined;
    let faultAtFlush = false;
    let lastRead: number | undefined;
    let records = 0;
    const places = new TextPlaces();
    let blank = true;
    const decoding: Decoding = { undecodable: false };

    try {
      // The signal ends a read that waits on stdin, as well as the loop below.
      for await (const text of withWholeLineBreaks(textOf(addAbortSignal(ctx.signal, input.stream), decoding))) {
        const start = places.end;
        places.add(text);
        let sound = text;
        try {
          verify(text);
        } catch (error) {
          fault = error as VerifierError;
          // A fault the verifier needed to see past (a mistyped `true`, a bad escape) may lie in the chunk before.
          sound = text.slice(0, Math.max(0, fault.offset - start));
        }
        blank &&= BLANK.test(text);
        for (const item of getManyValues(elements(sound))) {
          if (ctx.signal.aborted) return;
          lastRead = item.key;
          records++;
          yield elementEnvelope(item, input.name, key, decoding, oversized);
        }
        if (fault !== undefined) break;
      }
      if (fault === undefined) {
        try {
          verify(none);
        } catch (error) {
          fault = error as VerifierError;
          faultAtFlush = true;
        }
      }
      if (fault === undefined) {
        for (const item of getManyValues(elements(none))) {
          records++;
          yield elementEnvelope(item, input.name, key, decoding, oversized);
        }
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (first !== undefined && first !== 'startArray') {
        const code = key === undefined ? 'json.invalid' : 'json.key_not_found';
        // Firebase's export and most API dumps hold the array under a key: the object is the sign of a missing one.
        const hint = key === undefined && first === 'startObject' ? "; if the records are an array under a key, name it with the source's `key` (--key users, or data.users)" : '';
        throw new AuthpipeError(code, `${input.name}: ${where} is ${KIND_OF_TOKEN[first] ?? first}, not an array of records${hint}`);
      }
      // The parser's own errors carry no code (the verifier should have met the fault first); a coded one comes from
      // the file system, not from the document.
      if (error instanceof Error && !('code' in error)) throw invalidJson(input.name, error.message.replace(STREAM_JSON_PREFIX, ''), key, lastRead);
      throw error;
    }
    // An empty input (a failed export job, a verb before this one in a chain that failed) is no document, as it is no
    // NDJSON or CSV: it is read as no records, and said, like theirs.
    if (fault !== undefined && faultAtFlush && blank) {
      ctx.log.warn(`${input.name}: no records read (the input is empty or blank)`);
      return;
    }
    if (fault !== undefined) {
      const cutShort = faultAtFlush && (fault.offset >= places.end || isCutToken(places.textFrom(fault.offset)));
      const reason = cutShort ? 'the file ends inside the document: was it cut short?' : fault.message.replace(STREAM_JSON_PREFIX, '');
      const { line, column } = places.placeOf(fault.offset) ?? { line: fault.line, column: fault.pos };
      throw invalidJson(`${input.name}:${line}:${column}`, reason, key, lastRead);
    }
    if (first === undefined && key !== undefined) {
      throw new AuthpipeError('json.key_not_found', `${input.name}: no array of records at ${where}`);
    }
    // An empty export (a failed export job) must not pass for a finished migration.
    if (records === 0 && !ctx.signal.aborted) ctx.log.warn(`${input.name}: no records read (${where} is an empty array)`);
  },
});
