// WorkOS limits on metadata and external ids: where the spec and the docs disagree, the stricter number
// (workos-api.md §10), so nothing that passes here is refused by either.
import type { Envelope } from '../../pipelines/record.ts';
import { addIssue, isAscii, type ValidationRule } from './rule.ts';

const LIMITS = { entries: 10, keyLength: 40, valueLength: 600, externalIdLength: 64 } as const;

/** A key is shown in messages, so a runaway one is cut to the length it should have had. */
function shown(key: string): string {
  return JSON.stringify(key.length > LIMITS.keyLength ? `${key.slice(0, LIMITS.keyLength)}…` : key);
}

function checkMetadata(envelope: Envelope, metadata: Record<string, unknown>): void {
  let entries = 0;
  for (const key in metadata) {
    entries++;
    if (key === '' || key.length > LIMITS.keyLength || !isAscii(key)) {
      addIssue(envelope, 'error', 'metadata.key_invalid', 'metadata', `metadata key ${shown(key)} is not 1 to ${LIMITS.keyLength} ASCII characters`);
    }
    const value = metadata[key];
    if (typeof value !== 'string') {
      addIssue(envelope, 'error', 'metadata.value_invalid', 'metadata', `metadata ${shown(key)} holds ${value === null ? 'null' : typeof value}, not a string`);
    } else if (value.length > LIMITS.valueLength || !isAscii(value)) {
      addIssue(envelope, 'error', 'metadata.value_invalid', 'metadata', `metadata ${shown(key)} is not at most ${LIMITS.valueLength} ASCII characters`);
    }
  }
  if (entries > LIMITS.entries) {
    addIssue(envelope, 'error', 'metadata.too_many_entries', 'metadata', `metadata has ${entries} entries; WorkOS keeps at most ${LIMITS.entries}`);
  }
}

/**
 * A long numeric id a spreadsheet or a float column rewrote (`1.23E+17`, `1,23E+17` in other locales,
 * `1.2345678901234567e18` or `12345678901234567890.0` as pandas writes one): the id it stood for is gone. A short
 * exponent is left alone: `12e4` may be an id of its own.
 */
const SCIENTIFIC_NOTATION = /^-?\d+(?:[.,]\d+)?E\+?(\d+)$/i;
const FLOAT_OF_LONG_ID = /^-?\d{16,}\.0+$/;

function isMangledId(externalId: string): boolean {
  const exponent = SCIENTIFIC_NOTATION.exec(externalId)?.[1];
  return (exponent !== undefined && Number(exponent) >= 15) || FLOAT_OF_LONG_ID.test(externalId);
}

function checkLimits(envelope: Envelope): void {
  const { metadata, externalId } = envelope.user;
  if (metadata !== undefined) checkMetadata(envelope, metadata);
  if (externalId !== undefined && (externalId === '' || externalId.length > LIMITS.externalIdLength || !isAscii(externalId))) {
    addIssue(envelope, 'error', 'external_id.invalid', 'externalId', `the external id is not 1 to ${LIMITS.externalIdLength} ASCII characters`);
  } else if (externalId !== undefined && isMangledId(externalId)) {
    // Imported, the user would be known by a number that is not theirs, shared with others rounded alike.
    const message = `the external id ${externalId} is a long numeric id written as a floating-point number, as a spreadsheet or a float column writes one it has rounded: the id is lost; export the ids again as text`;
    addIssue(envelope, 'error', 'external_id.mangled', 'externalId', message);
  }
}

export const metadataLimitsRule: ValidationRule = {
  name: 'metadata-limits',
  start: () => ({ check: checkLimits }),
};
