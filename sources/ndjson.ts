// NDJSON: one JSON object per line. A line that already is an envelope passes through untouched, which is how
// Unix-chain verbs hand records to each other (`authpipe read csv users.csv | authpipe map ...`).
import { addAbortSignal } from 'node:stream';
import { z } from 'zod';
import { defineSource, inputPath } from '../pipelines/component.ts';
import { keyOf, PASSWORD_HASH_TYPES, rawEnvelope, REPLACEMENT_CHARACTER, type Envelope, type Issue, type Origin } from '../pipelines/record.ts';
import { openInput, textOf, UNDECODED_REASON, type Decoding } from './input.ts';
import { isObject, kindOf, MAX_NESTING, nestsTooDeep, withExactIntegers } from './json-value.ts';

const options = z.object({
  path: inputPath().default('-').describe('NDJSON file to read; `-` reads stdin'),
});

const BYTE_ORDER_MARK = '\uFEFF';
/** A line longer than this is left out as it comes rather than held: one broken line must not exhaust memory. */
const MAX_LINE_CHARS = 8 << 20;
/** What linesOf gives for a line longer than MAX_LINE_CHARS. */
const TOO_LONG = Symbol('line too long');
/** What linesOf gives for the part of a line read when the input failed (a gzip cut short), before it throws. */
const CUT_SHORT = Symbol('line cut short');
const NOT_BLANK = /\S/;

/** Lines that end in LF or CRLF: a CR elsewhere is whitespace inside the JSON, of a `\r\r\n` line end, or ends a record (recordsOf). */
const LF_LINES = /\r?\n/g;
/** Lines that end in a CR alone (old Mac), or in any line end of a file that mixes them. */
const CR_LINES = /\r\n?|\n/g;

/**
 * How the text's lines end: in LF (or CRLF) if it holds one; in a CR alone if it holds a CR and no LF (a CR ending it
 * may open a CRLF); undefined while it holds neither.
 */
function lineEndsOf(text: string): RegExp | undefined {
  if (text.includes('\n')) return LF_LINES;
  const cr = text.indexOf('\r');
  return cr === -1 || cr === text.length - 1 ? undefined : CR_LINES;
}

/**
 * Every line of a text stream, without its line end, or TOO_LONG for a line past MAX_LINE_CHARS. Only the newest
 * chunk is searched, and a line longer than a chunk grows by concatenation, so long lines cost linear time. A stream
 * that fails inside a line gives CUT_SHORT for it, then its error.
 */
async function* linesOf(text: AsyncIterable<string>): AsyncGenerator<string | typeof TOO_LONG | typeof CUT_SHORT> {
  /** How lines end, once the text told (lineEndsOf): a search of this generator's own. */
  let lineEnd: RegExp | undefined;
  let pending = '';
  let tooLong = false;
  /** The last chunk ended in a CR: an LF opening this one is the rest of that CRLF, not an empty line. */
  let afterCr = false;
  try {
    for await (const chunk of text) {
      if (lineEnd === undefined) {
        // A CR that ended the text so far: the chunk's first character tells whether it opens a CRLF.
        const heldCr = pending.endsWith('\r');
        const lineEnds = lineEndsOf(heldCr ? `\r${chunk}` : chunk);
        if (lineEnds === CR_LINES && heldCr) {
          yield tooLong ? TOO_LONG : pending.slice(0, -1);
          pending = '';
          tooLong = false;
        }
        // A copy: the search stops at each line given, and another source may search meanwhile.
        if (lineEnds !== undefined) lineEnd = new RegExp(lineEnds.source, 'g');
      }
      let start: number = afterCr && chunk.startsWith('\n') ? 1 : 0;
      afterCr = false;
      if (lineEnd !== undefined) {
        lineEnd.lastIndex = start;
        for (let end = lineEnd.exec(chunk); end !== null; end = lineEnd.exec(chunk)) {
          yield tooLong ? TOO_LONG : pending + chunk.slice(start, end.index);
          pending = '';
          tooLong = false;
          start = lineEnd.lastIndex;
          afterCr = start === chunk.length && end[0] === '\r';
        }
      }
      if (!tooLong) pending += chunk.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        tooLong = true;
        pending = '';
      }
    }
  } catch (error) {
    if (pending !== '' || tooLong) yield CUT_SHORT;
    throw error;
  }
  if (tooLong) yield TOO_LONG;
  else if (pending !== '') yield pending;
}

/**
 * The records of a line: itself, or, when it is no JSON as a whole but holds lone CRs between records, each of them.
 * A file of LF lines with old Mac (CR) lines pasted in (`cat`) would otherwise lose all of those in one invalid line;
 * a CR inside a record is JSON whitespace, so a line that parses whole stays whole.
 */
function recordsOf(line: string): string[] {
  const cr = line.indexOf('\r');
  if (cr === -1 || !NOT_BLANK.test(line.slice(cr))) return [line];
  try {
    JSON.parse(line);
    return [line];
  } catch {
    return line.split('\r').filter((record) => NOT_BLANK.test(record));
  }
}

/**
 * An envelope as another verb wrote it, or as a person fixed it by hand (`replay --export | jq ... | write`): the
 * user's fields are checked, since a mistyped one would otherwise be dropped without a word or break a later stage.
 * Left out, `origin` becomes this line, `key` is derived from the user, and `seq` is the line's place in the input.
 */
const envelopeSchema = z.object({
  seq: z.number().int().optional(),
  key: z.string().optional(),
  origin: z.object({ file: z.string().optional(), line: z.number().int().optional(), page: z.string().optional(), joined: z.array(z.number().int()).optional() }).optional(),
  user: z.strictObject({
    email: z.string().optional(),
    emailVerified: z.boolean().optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    externalId: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    passwordHash: z.string().optional(),
    passwordHashType: z.enum(PASSWORD_HASH_TYPES).optional(),
    orgs: z
      .array(z.strictObject({ externalId: z.string().optional(), id: z.string().optional(), name: z.string().optional(), roles: z.array(z.string()).default([]) }))
      .optional(),
    totpSecret: z.string().optional(),
  }),
  raw: z.record(z.string(), z.unknown()).optional(),
  issues: z.array(
    z.object({ stage: z.string(), code: z.string(), level: z.enum(['error', 'warning']), message: z.string(), field: z.string().optional() }),
  ),
});

/** A line meant as an envelope rather than a raw record: it has the envelope's `user` and `issues`. */
function looksLikeEnvelope(value: Record<string, unknown>): boolean {
  return 'user' in value && 'issues' in value;
}

/** Where and why, without any value: a field in error may hold a password hash. */
function describeSchemaError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'the line'}: ${issue.message}`).join('; ');
}

function lineIssue(origin: Origin, code: string, reason: string): Issue {
  return { stage: 'ndjson', code, level: 'error', message: `${origin.file}:${origin.line}: ${reason}` };
}

function undecodedIssue(origin: Origin): Issue {
  return lineIssue(origin, 'ndjson.undecodable', `the line ${UNDECODED_REASON}`);
}

function invalidLine(seq: number, origin: Origin, code: string, reason: string): Envelope {
  return rawEnvelope(seq, origin, {}, [lineIssue(origin, code, reason)]);
}

/** A raw record, an envelope from an earlier verb, or an error envelope for a line that is not a JSON object. */
function envelopeOf(text: string, seq: number, origin: Origin, decoding: Decoding): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(withExactIntegers(text));
  } catch {
    // JSON.parse quotes the offending text, which may hold a password hash: the message only says where.
    return invalidLine(seq, origin, 'ndjson.invalid_json', 'the line is not valid JSON');
  }
  if (!isObject(value)) {
    // A whole JSON export on one line is an array of users: the json source reads it, a user at a time.
    const hint = Array.isArray(value) ? ' (a JSON document holding an array of users? read it with the json source: `authpipe read json`)' : '';
    return invalidLine(seq, origin, 'ndjson.invalid_json', `the line is ${kindOf(value)}, not a JSON object${hint}`);
  }
  if (nestsTooDeep(value)) return invalidLine(seq, origin, 'ndjson.too_deep', `the line nests values more than ${MAX_NESTING} deep`);
  // A U+FFFD the line holds itself (written as it is, or as authpipe writes it: escaped) is text like any other.
  const undecoded = decoding.undecodable && text.includes(REPLACEMENT_CHARACTER);
  if (!looksLikeEnvelope(value)) {
    return undecoded ? rawEnvelope(seq, origin, {}, [undecodedIssue(origin)]) : rawEnvelope(seq, origin, value);
  }
  // A hand edit (jq's `.user.metadata |= ...` on a row without metadata) leaves `metadata: null`: it means none.
  if (isObject(value.user) && value.user.metadata === null) delete value.user.metadata;
  // The record zod builds would lose a `__proto__` key without a word (the map stage leaves it out with one).
  if (isObject(value.user) && isObject(value.user.metadata) && Object.hasOwn(value.user.metadata, '__proto__')) {
    return invalidLine(seq, origin, 'ndjson.invalid_envelope', 'not a valid envelope: user.metadata: the key __proto__ is reserved in JavaScript; remove it');
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) return invalidLine(seq, origin, 'ndjson.invalid_envelope', `not a valid envelope: ${describeSchemaError(envelope.error)}`);
  const { user } = envelope.data;
  const ownSeq = envelope.data.seq ?? seq;
  const read = { ...envelope.data, seq: ownSeq, key: envelope.data.key ?? keyOf(user, ownSeq), origin: envelope.data.origin ?? origin };
  // An envelope edited in another encoding keeps its origin and key, with the fault added to what it carries.
  if (undecoded) read.issues.push(undecodedIssue(origin));
  return read;
}

export const ndjsonSource = defineSource({
  name: 'ndjson',
  summary: 'Reads NDJSON (a file or stdin): raw records, or envelopes written by another authpipe verb.',
  options,
  async *create(options, ctx) {
    const input = await openInput(options.path, ctx);
    ctx.runProgress.inputShare = input.share;
    let line = 0;
    let seq = 0;
    try {
      const decoding: Decoding = { undecodable: false };
      for await (const text of linesOf(textOf(addAbortSignal(ctx.signal, input.stream), decoding))) {
        line++;
        if (text === TOO_LONG) {
          yield invalidLine(++seq, { file: input.name, line }, 'ndjson.line_too_long', 'the line is longer than 8 MiB, so it is left out');
          continue;
        }
        if (text === CUT_SHORT) {
          yield invalidLine(++seq, { file: input.name, line }, 'ndjson.cut_short', 'the input failed inside this line (see the error that stopped the run), so what was read of it is left out');
          continue;
        }
        // A byte order mark opens the file, or a line where files with one were joined (`cat a.ndjson b.ndjson`).
        const content = text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
        if (!NOT_BLANK.test(content)) continue;
        for (const record of recordsOf(content)) yield envelopeOf(record, ++seq, { file: input.name, line }, decoding);
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
    // An empty file (a failed export job, a verb before this one in a chain that failed) must not pass for a finished migration.
    if (seq === 0 && !ctx.signal.aborted) ctx.log.warn(`${input.name}: no records read (${line === 0 ? 'the input is empty' : 'only blank lines'})`);
  },
});
