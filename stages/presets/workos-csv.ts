// The WorkOS user import CSV: one user and at most one organization per row. A user on several rows (one per
// organization) is NOT merged here, since a streaming stage cannot see the other rows: each row is mapped on its
// own, and the validate and dedupe stages decide what several rows for one user mean.
import type { Envelope, OrgRef } from '../../pipelines/record.ts';
import { withoutSpreadsheetQuote } from '../../sinks/spreadsheet-safe.ts';
import {
  addIssue,
  cell,
  isReported,
  isPasswordHashType,
  metadataValue,
  parseBoolean,
  quoteHashName,
  setMetadata,
  type SourceRecord,
} from '../mapping.ts';
import { withExactIntegers } from '../../sources/json-value.ts';
import type { Preset } from './index.ts';

/** `metadata`: the JSON text of an object, as the CSV holds it, or the object itself, as a JSON export does. */
function mapMetadata(raw: SourceRecord, envelope: Envelope): void {
  let parsed: unknown = raw.metadata;
  if (parsed === null) return;
  if (typeof parsed !== 'object') {
    const text = cell(raw, 'metadata', envelope);
    if (text === undefined) return;
    try {
      parsed = JSON.parse(withExactIntegers(text));
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    addIssue(envelope, 'error', 'metadata.invalid_json', 'metadata', 'metadata is not a JSON object');
    return;
  }
  for (const [key, value] of Object.entries(parsed)) {
    const flat = metadataValue(value);
    if (flat !== undefined) setMetadata(envelope.user, key, flat);
  }
}

/** A name as the csv sink wrote it: after a `'` when it starts as a formula would (the WorkOS importer keeps it). */
function nameCell(raw: SourceRecord, name: string, envelope: Envelope): string | undefined {
  const text = cell(raw, name, envelope);
  return text === undefined ? undefined : withoutSpreadsheetQuote(text);
}

function mapPassword(raw: SourceRecord, envelope: Envelope): void {
  const hash = cell(raw, 'password_hash', envelope);
  const type = cell(raw, 'password_hash_type', envelope)?.toLowerCase();
  if (hash === undefined) {
    // A type names a password the file should hold: its loss is said, not passed over (if not said already).
    if (type !== undefined && !isReported(envelope, 'password_hash')) addIssue(envelope, 'warning', 'hash.empty', 'passwordHash', `password_hash_type ${quoteHashName(type)} is given but password_hash is empty; the user is created without a password and must reset it`);
    return;
  }
  if (type !== undefined && isPasswordHashType(type)) {
    envelope.user.passwordHash = hash;
    envelope.user.passwordHashType = type;
    return;
  }
  const which = type === undefined ? 'password_hash_type is empty' : `WorkOS does not accept the hash type ${quoteHashName(type)}`;
  addIssue(envelope, 'warning', 'hash.unsupported', 'passwordHash', `${which}; the user is created without a password and must reset it`);
}

function roleSlugs(text: string | undefined): string[] {
  if (text === undefined) return [];
  const roles: string[] = [];
  for (const slug of text.split(',')) {
    const trimmed = slug.trim();
    if (trimmed !== '') roles.push(trimmed);
  }
  return roles;
}

function mapOrg(raw: SourceRecord, envelope: Envelope): void {
  const id = cell(raw, 'org_id', envelope);
  const externalId = cell(raw, 'org_external_id', envelope);
  const name = nameCell(raw, 'org_name', envelope);
  const roles = roleSlugs(cell(raw, 'role_slugs', envelope));
  if (id === undefined && externalId === undefined) {
    if (name !== undefined || roles.length > 0) {
      const message = 'org_name or role_slugs given without org_id or org_external_id; no membership is made';
      addIssue(envelope, 'warning', 'org.unidentified', 'orgs', message);
    }
    return;
  }
  const org: OrgRef = { roles };
  if (id !== undefined) org.id = id;
  if (externalId !== undefined) org.externalId = externalId;
  if (name !== undefined) org.name = name;
  envelope.user.orgs = [org];
}

function mapWorkosCsvRow(raw: SourceRecord, envelope: Envelope): void {
  const user = envelope.user;
  const email = cell(raw, 'email', envelope);
  if (email !== undefined) user.email = email;
  const firstName = nameCell(raw, 'first_name', envelope);
  if (firstName !== undefined) user.firstName = firstName;
  const lastName = nameCell(raw, 'last_name', envelope);
  if (lastName !== undefined) user.lastName = lastName;
  const verified = parseBoolean(raw.email_verified);
  if (verified === null) {
    addIssue(envelope, 'error', 'field.invalid_boolean', 'emailVerified', 'email_verified is not one of true/false/1/0/yes/no');
  } else if (verified !== undefined) {
    user.emailVerified = verified;
  }
  const externalId = cell(raw, 'external_id', envelope);
  if (externalId !== undefined) user.externalId = externalId;
  mapPassword(raw, envelope);
  mapMetadata(raw, envelope);
  mapOrg(raw, envelope);
}

/** The columns of the WorkOS import CSV, in its order: read by this preset, written by the csv sink's layout. */
export const WORKOS_CSV_COLUMNS = [
  'email',
  'first_name',
  'last_name',
  'email_verified',
  'external_id',
  'password_hash',
  'password_hash_type',
  'metadata',
  'org_id',
  'org_external_id',
  'org_name',
  'role_slugs',
] as const;

export const workosCsvPreset: Preset = {
  name: 'workos-csv',
  summary:
    'WorkOS import CSV: email, names, email_verified, external_id, password_hash(+_type), metadata (a JSON object), ' +
    'and one org per row (org_id/org_external_id/org_name, comma-separated role_slugs); rows are not merged',
  identityColumns: ['email'],
  // Every other column of the import CSV is optional: a file without passwords has no password_hash column.
  dataColumns: {},
  optionalColumns: WORKOS_CSV_COLUMNS.filter((column) => column !== 'email'),
  map: mapWorkosCsvRow,
};
