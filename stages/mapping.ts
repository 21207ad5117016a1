// The declarative mapping engine of the `map` stage: option schemas for `fields`, `fullName`, `metadata` and
// `defaults`, compiled once into plain steps that the per-record path walks without parsing names or making closures.
// The cell helpers the presets share live here too.
import { z } from 'zod';
import {
  describeOrigin,
  PASSWORD_HASH_TYPES,
  type Envelope,
  type IssueLevel,
  type PasswordHashType,
  type UserDraft,
} from '../pipelines/record.ts';

/** WorkOS metadata limits (workos-api.md §10, the stricter column). */
const METADATA_LIMITS = { entries: 10, keyLength: 40, valueLength: 600 } as const;

export type SourceRecord = Record<string, unknown>;

const sourceField = z
  .string()
  .min(1)
  .describe('Source field name; a dotted name (`app_metadata.plan`) is read as written first, then as a path into nested objects');

const textSpec = z.union([
  sourceField,
  z.strictObject({
    from: sourceField,
    trim: z.boolean().default(true).describe('Strip surrounding whitespace (default true)'),
    lowercase: z.boolean().default(false).describe('Lowercase the value (default false)'),
    default: z.string().optional().describe('Value used when the source field is missing or empty'),
  }),
]);

const booleanSpec = z.union([
  sourceField,
  z.strictObject({
    from: sourceField,
    default: z.boolean().optional().describe('Value used when the source field is missing or empty'),
  }),
]);

const hashTypeSpec = z.union([
  sourceField,
  z.strictObject({
    from: sourceField,
    default: z.enum(PASSWORD_HASH_TYPES).optional().describe('Hash type used when the source field is missing or empty'),
  }),
]);

function textField(target: string) {
  return textSpec.optional().describe(`Source of ${target}: a field name, or {from, trim, lowercase, default}`);
}

const fields = z
  .strictObject({
    email: textField('the email address'),
    firstName: textField('the first name'),
    lastName: textField('the last name'),
    externalId: textField('the external id'),
    emailVerified: booleanSpec
      .optional()
      .describe('Source of the verified flag: a field name, or {from, default}; true/false/1/0/yes/no in any case'),
    passwordHash: textField('the password hash'),
    passwordHashType: hashTypeSpec
      .optional()
      .describe(`Source of the hash type: a field name, or {from, default}; one of ${PASSWORD_HASH_TYPES.join(', ')}`),
    totpSecret: textField('the TOTP secret'),
  })
  .default({})
  .describe(
    'Per user field, where its value comes from, e.g. {"email": "mail", "externalId": {"from": "id", "trim": true}}; applied after the preset and replacing what it set for that field',
  );

function isMetadataKey(key: string): boolean {
  return key.length <= METADATA_LIMITS.keyLength && isAscii(key);
}

const metadataPick = z
  .union([
    sourceField,
    z.strictObject({
      from: sourceField,
      as: z.string().min(1).optional().describe('Metadata key (default: the source field name)'),
    }),
  ])
  .refine((pick) => isMetadataKey(typeof pick === 'string' ? pick : (pick.as ?? pick.from)), {
    message: `a metadata key must be at most ${METADATA_LIMITS.keyLength} ASCII characters; name it with {from, as}`,
  });

/** The mapping options, spread into the `map` stage's schema. */
export const mappingOptions = {
  fields,
  fullName: z
    .strictObject({ from: sourceField })
    .optional()
    .describe('Splits one source field into first name (first word) and last name (the rest), as {"from": "full_name"}; `fields` still win'),
  metadata: z
    .array(metadataPick)
    .default([])
    .describe(
      `Source fields copied into metadata, as names or {from, as}, e.g. ["plan", {"from": "app_metadata.tier", "as": "tier"}]; objects and arrays become JSON text; an entry over the ` +
        `WorkOS limits (${METADATA_LIMITS.entries} entries, ${METADATA_LIMITS.valueLength} ASCII characters) is dropped with a ` +
        '`metadata.dropped` warning, never truncated',
    ),
  defaults: z
    .strictObject({
      emailVerified: z.boolean().optional().describe('Verified flag when nothing set it'),
      firstName: z.string().optional().describe('First name when nothing set it'),
      lastName: z.string().optional().describe('Last name when nothing set it'),
    })
    .default({})
    .describe('Values for user fields still missing after the preset and the mapping, e.g. {emailVerified: false}'),
};

export type MappingOptions = z.output<z.ZodObject<typeof mappingOptions>>;

type TextTarget = 'email' | 'firstName' | 'lastName' | 'externalId' | 'passwordHash' | 'totpSecret';

/** A compiled source field: split once, so the per-record lookup never parses a name. */
interface SourcePath {
  name: string;
  /** Set only for dotted names, which may also be nested paths. */
  segments?: readonly string[];
}

interface TextStep {
  target: TextTarget;
  source: SourcePath;
  trim: boolean;
  lowercase: boolean;
  fallback?: string;
}

interface ValueStep<T> {
  source: SourcePath;
  fallback?: T;
}

interface MetadataStep {
  source: SourcePath;
  key: string;
}

export interface CompiledMapping {
  text: TextStep[];
  emailVerified?: ValueStep<boolean>;
  passwordHashType?: ValueStep<PasswordHashType>;
  fullName?: SourcePath;
  metadata: MetadataStep[];
  defaults: MappingOptions['defaults'];
}

function sourcePath(name: string): SourcePath {
  return name.includes('.') ? { name, segments: name.split('.') } : { name };
}

function textStep(target: TextTarget, spec: z.output<typeof textSpec>): TextStep {
  if (typeof spec === 'string') return { target, source: sourcePath(spec), trim: true, lowercase: false };
  return { target, source: sourcePath(spec.from), trim: spec.trim, lowercase: spec.lowercase, fallback: spec.default };
}

function valueStep<T>(spec: string | { from: string; default?: T }): ValueStep<T> {
  return typeof spec === 'string' ? { source: sourcePath(spec) } : { source: sourcePath(spec.from), fallback: spec.default };
}

const TEXT_TARGETS: readonly TextTarget[] = ['email', 'firstName', 'lastName', 'externalId', 'passwordHash', 'totpSecret'];

export function compileMapping(options: MappingOptions): CompiledMapping {
  const text: TextStep[] = [];
  for (const target of TEXT_TARGETS) {
    const spec = options.fields[target];
    if (spec !== undefined) text.push(textStep(target, spec));
  }
  return {
    text,
    emailVerified: options.fields.emailVerified === undefined ? undefined : valueStep(options.fields.emailVerified),
    passwordHashType: options.fields.passwordHashType === undefined ? undefined : valueStep(options.fields.passwordHashType),
    fullName: options.fullName && sourcePath(options.fullName.from),
    metadata: options.metadata.map((pick) =>
      typeof pick === 'string' ? { source: sourcePath(pick), key: pick } : { source: sourcePath(pick.from), key: pick.as ?? pick.from },
    ),
    defaults: options.defaults,
  };
}

/** Each source field the mapping reads, with the option that names it (`fields.email`), for messages. */
export function mappedSources(mapping: CompiledMapping): { source: SourcePath; option: string }[] {
  const sources = mapping.text.map((step) => ({ source: step.source, option: `fields.${step.target}` }));
  if (mapping.emailVerified) sources.push({ source: mapping.emailVerified.source, option: 'fields.emailVerified' });
  if (mapping.passwordHashType) sources.push({ source: mapping.passwordHashType.source, option: 'fields.passwordHashType' });
  if (mapping.fullName) sources.push({ source: mapping.fullName, option: 'fullName' });
  for (const step of mapping.metadata) sources.push({ source: step.source, option: 'metadata' });
  return sources;
}

export function readSource(raw: SourceRecord, path: SourcePath): unknown {
  const direct = raw[path.name];
  // A CSV header may itself contain dots, so the name as written wins over the nested reading.
  if (direct !== undefined || path.segments === undefined) return direct;
  let current: unknown = raw;
  for (const segment of path.segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as SourceRecord)[segment];
  }
  return current;
}

/** A scalar as text; `undefined` when absent, `null` when present but not a scalar (an object or array). */
function scalarText(value: unknown): string | undefined | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return undefined;
    default:
      return value === null ? undefined : null;
  }
}

/** Whether `cell` (or another step) already reported the column `name` of this row: its loss needs no second word. */
export function isReported(envelope: Envelope, name: string): boolean {
  return envelope.issues.some((issue) => issue.field === name);
}

/**
 * A trimmed, non-empty text cell, or undefined; presets read cells with it. An object or a list in its place (a JSON
 * export) is no text: an error on the envelope, as the `fields` mapping gives, rather than a value left out unsaid.
 */
export function cell(raw: SourceRecord, name: string, envelope: Envelope): string | undefined {
  const text = scalarText(raw[name]);
  if (text === null) {
    // Never echo the value: the field may be a password hash.
    addIssue(envelope, 'error', 'field.invalid_type', name, `${name} holds an object or a list, not text`);
    return undefined;
  }
  if (!text) return undefined;
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
]);

/** true/false/1/0/yes/no in any case; `undefined` when empty, `null` when it is none of those. */
export function parseBoolean(value: unknown): boolean | undefined | null {
  if (typeof value === 'boolean') return value;
  const text = scalarText(value)?.trim();
  if (text === undefined || text === '') return undefined;
  return BOOLEAN_WORDS.get(text.toLowerCase()) ?? null;
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 127) return false;
  }
  return true;
}

/** Metadata values are strings: objects and arrays become JSON text; empty values are left out. */
export function metadataValue(value: unknown): string | undefined {
  const text = scalarText(value);
  if (text === null) return JSON.stringify(value);
  return text === '' ? undefined : text;
}

export function addIssue(envelope: Envelope, level: IssueLevel, code: string, field: string, message: string): void {
  envelope.issues.push({ stage: 'map', code, level, message: `${describeOrigin(envelope.origin)}: ${message}`, field });
}

const WHITESPACE = /\s/;
const WHITESPACE_RUNS = /\s+/g;

/** Sets a user field, or removes what a preset put there when the mapping found nothing. */
function assign<K extends keyof UserDraft>(user: UserDraft, field: K, value: UserDraft[K] | undefined): void {
  if (value !== undefined) user[field] = value;
  else if (user[field] !== undefined) delete user[field];
}

function splitFullName(user: UserDraft, fullName: string): void {
  const name = fullName.trim();
  const gap = name.search(WHITESPACE);
  if (gap === -1) {
    assign(user, 'firstName', name === '' ? undefined : name);
    assign(user, 'lastName', undefined);
    return;
  }
  user.firstName = name.slice(0, gap);
  user.lastName = name.slice(gap).trim().replace(WHITESPACE_RUNS, ' ');
}

function applyText(step: TextStep, raw: SourceRecord, envelope: Envelope): void {
  let text = scalarText(readSource(raw, step.source));
  if (text === null) {
    // Never echo the value: the field may be a password hash.
    addIssue(envelope, 'error', 'field.invalid_type', step.target, `${step.source.name} holds an object or a list, not text`);
    text = undefined;
  } else if (text !== undefined) {
    if (step.trim) text = text.trim();
    if (step.lowercase) text = text.toLowerCase();
    if (text === '') text = undefined;
  }
  assign(envelope.user, step.target, text ?? step.fallback);
}

function applyEmailVerified(step: ValueStep<boolean>, raw: SourceRecord, envelope: Envelope): void {
  const verified = parseBoolean(readSource(raw, step.source));
  if (verified === null) {
    addIssue(envelope, 'error', 'field.invalid_boolean', 'emailVerified', `${step.source.name} is not one of true/false/1/0/yes/no`);
  }
  assign(envelope.user, 'emailVerified', verified ?? step.fallback);
}

const NAME_SHAPED = /^[a-z][a-z0-9_-]{0,23}$/;

/**
 * A hash algorithm's name, quoted for a message, only when it looks like a name: a cell read from a shifted
 * column could hold the digest itself, which must never reach a message.
 */
export function quoteHashName(name: string): string {
  return NAME_SHAPED.test(name) ? `"${name}"` : 'an unrecognised name';
}

export function isPasswordHashType(type: string): type is PasswordHashType {
  return (PASSWORD_HASH_TYPES as readonly string[]).includes(type);
}

function applyPasswordHashType(step: ValueStep<PasswordHashType>, raw: SourceRecord, envelope: Envelope): void {
  const type = scalarText(readSource(raw, step.source))?.trim().toLowerCase();
  if (!type) {
    assign(envelope.user, 'passwordHashType', step.fallback);
  } else if (isPasswordHashType(type)) {
    envelope.user.passwordHashType = type;
  } else {
    const message = `WorkOS does not accept the hash type ${quoteHashName(type)}; no password is sent`;
    addIssue(envelope, 'warning', 'hash.unsupported', 'passwordHashType', message);
    assign(envelope.user, 'passwordHashType', undefined);
    assign(envelope.user, 'passwordHash', undefined);
  }
}

/**
 * Metadata is gathered in an object without a prototype, so that a key named `__proto__` is a key like any other until
 * fitMetadata says it is left out.
 */
export function setMetadata(user: UserDraft, key: string, value: string): void {
  if (user.metadata === undefined) user.metadata = Object.create(null) as Record<string, string>;
  user.metadata[key] = value;
}

/** A key JavaScript gives a meaning of its own: set on a plain object (in the WorkOS SDK too), it would vanish unsaid. */
const PROTOTYPE_KEY = '__proto__';

function droppedMetadata(envelope: Envelope, key: string, reason: string): void {
  addIssue(envelope, 'warning', 'metadata.dropped', 'metadata', `metadata "${key}" is left out: ${reason}`);
}

/** Drops, never truncates, what WorkOS would refuse; the validate stage rejects whatever still breaks a limit. */
function fitMetadata(envelope: Envelope, metadata: Record<string, string>): void {
  let kept = 0;
  for (const key of Object.keys(metadata)) {
    const value = metadata[key];
    let reason: string | undefined;
    if (key === PROTOTYPE_KEY) reason = 'the name is reserved in JavaScript, which the WorkOS SDK is written in';
    else if (!isMetadataKey(key)) reason = `the key is longer than ${METADATA_LIMITS.keyLength} characters or not ASCII`;
    else if (value.length > METADATA_LIMITS.valueLength) reason = `the value is longer than ${METADATA_LIMITS.valueLength} characters`;
    else if (!isAscii(value)) reason = 'the value is not ASCII';
    else if (kept === METADATA_LIMITS.entries) reason = `WorkOS keeps at most ${METADATA_LIMITS.entries} entries`;
    if (reason === undefined) {
      kept++;
    } else {
      droppedMetadata(envelope, key, reason);
      delete metadata[key];
    }
  }
  if (kept === 0) delete envelope.user.metadata;
  // A plain object again, for whatever comes after (a sink, a comparison) to take as any other.
  else envelope.user.metadata = { ...metadata };
}

/**
 * Applies the compiled mapping on top of what a preset set: full name, fields, metadata picks, then the metadata
 * limits and the defaults. A field the mapping names is replaced, even by nothing when the source is empty.
 */
export function applyMapping(mapping: CompiledMapping, raw: SourceRecord, envelope: Envelope): void {
  const user = envelope.user;
  if (mapping.fullName) {
    const fullName = scalarText(readSource(raw, mapping.fullName));
    splitFullName(user, fullName ?? '');
  }
  for (const step of mapping.text) applyText(step, raw, envelope);
  if (mapping.emailVerified) applyEmailVerified(mapping.emailVerified, raw, envelope);
  if (mapping.passwordHashType) applyPasswordHashType(mapping.passwordHashType, raw, envelope);
  for (const pick of mapping.metadata) {
    const value = metadataValue(readSource(raw, pick.source));
    if (value !== undefined) setMetadata(user, pick.key, value);
  }
  if (user.metadata) fitMetadata(envelope, user.metadata);
  const { defaults } = mapping;
  if (user.emailVerified === undefined && defaults.emailVerified !== undefined) user.emailVerified = defaults.emailVerified;
  if (user.firstName === undefined && defaults.firstName !== undefined) user.firstName = defaults.firstName;
  if (user.lastName === undefined && defaults.lastName !== undefined) user.lastName = defaults.lastName;
}
