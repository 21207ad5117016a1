import { ApiError, badRequest, invalidParameters } from './errors.ts';
import type { ListQuery, Metadata } from './store.ts';

// Field checks shared by the handlers. Limits follow the stricter source where WorkOS's spec and docs
// disagree (workos-api.md §10): 10 metadata entries, 40-char ASCII keys, 600-char ASCII string values,
// 64-char ASCII external ids.

export type JsonObject = Record<string, unknown>;

const MAX_METADATA_ENTRIES = 10;
const MAX_METADATA_KEY = 40;
const MAX_METADATA_VALUE = 600;
const MAX_EXTERNAL_ID = 64;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LOCALE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A string field that may be absent (undefined). */
export function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || typeof value === 'string') return value;
  throw invalidParameters(field, `${field}_must_be_string`, `${field} must be a string.`);
}

/** A string field that may be absent (undefined) or cleared (null). */
export function nullableString(body: JsonObject, field: string): string | null | undefined {
  return body[field] === null ? null : optionalString(body, field);
}

export function requiredString(body: JsonObject, field: string): string {
  const value = body[field];
  if (typeof value === 'string' && value !== '') return value;
  throw invalidParameters(field, `${field}_string_required`, `${field} is required and must be a non-empty string.`);
}

export function optionalBoolean(body: JsonObject, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalidParameters(field, `${field}_must_be_boolean`, `${field} must be a boolean.`);
}

export function emailOf(body: JsonObject): string {
  const email = requiredString(body, 'email');
  if (!EMAIL.test(email)) throw invalidParameters('email', 'email_invalid', 'email must be a valid email address.');
  return email;
}

export function optionalEmail(body: JsonObject): string | undefined {
  return body.email === undefined ? undefined : emailOf(body);
}

export function localeOf(body: JsonObject): string | null | undefined {
  const locale = nullableString(body, 'locale');
  if (typeof locale === 'string' && !LOCALE.test(locale)) throw badRequest('invalid_locale', 'locale must be a BCP 47 language tag such as en or pt-BR.');
  return locale;
}

/** undefined = leave as is, null = clear. */
export function externalIdOf(body: JsonObject): string | null | undefined {
  const externalId = nullableString(body, 'external_id');
  if (typeof externalId !== 'string') return externalId;
  if (externalId === '' || externalId.length > MAX_EXTERNAL_ID) {
    throw invalidParameters('external_id', 'external_id_invalid_length', `external_id must be 1 to ${MAX_EXTERNAL_ID} characters long.`);
  }
  if (!isAscii(externalId)) throw invalidParameters('external_id', 'external_id_must_be_ascii', 'external_id must contain ASCII characters only.');
  return externalId;
}

function invalidMetadata(message: string): ApiError {
  return badRequest('invalid_metadata', message);
}

/** `current` with `body.metadata` applied (a null value removes its key), checked against the limits. */
export function metadataOf(body: JsonObject, current: Metadata): Metadata {
  const patch = body.metadata;
  if (patch === undefined) return current;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw invalidMetadata('metadata must be an object of string values.');
  const merged: Metadata = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '' || key.length > MAX_METADATA_KEY || !isAscii(key)) {
      throw invalidMetadata(`Metadata keys must be 1 to ${MAX_METADATA_KEY} ASCII characters; '${key.slice(0, MAX_METADATA_KEY)}' is not.`);
    }
    if (value === null) {
      delete merged[key];
      continue;
    }
    if (typeof value !== 'string' || value.length > MAX_METADATA_VALUE || !isAscii(value)) {
      throw invalidMetadata(`Metadata value of '${key}' must be a string of at most ${MAX_METADATA_VALUE} ASCII characters.`);
    }
    merged[key] = value;
  }
  if (Object.keys(merged).length > MAX_METADATA_ENTRIES) throw invalidMetadata(`Metadata can have at most ${MAX_METADATA_ENTRIES} entries.`);
  return merged;
}

/** `limit` (1-100, default 10, clamped), `order` (asc | desc | normal = desc, default desc), `before` | `after`. */
export function listQueryOf(query: URLSearchParams): ListQuery {
  const limitText = query.get('limit');
  const limit = limitText === null ? 10 : Number(limitText);
  if (!Number.isInteger(limit) || limitText === '') throw invalidParameters('limit', 'limit_must_be_integer', 'limit must be an integer from 1 to 100.');
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc' && order !== 'normal') throw invalidParameters('order', 'order_invalid', 'order must be asc, desc or normal.');
  const before = query.get('before') || null;
  const after = query.get('after') || null;
  if (before !== null && after !== null) throw invalidParameters('before', 'before_and_after_provided', 'Pass before or after, not both.');
  return { limit: Math.min(100, Math.max(1, limit)), order: order === 'asc' ? 'asc' : 'desc', before, after };
}

/** Comma-joined values of a query parameter, as the SDK sends arrays (`statuses=active%2Cpending`). */
export function commaList(query: URLSearchParams, name: string): string[] | null {
  const text = query.get(name);
  return text === null || text === '' ? null : text.split(',').filter((item) => item !== '');
}
