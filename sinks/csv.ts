// Valid envelopes as CSV: the WorkOS import layout (one row per organization membership), or a flat review
// layout without password hashes. Free text (names, metadata) is made spreadsheet-safe in both; the import layout
// writes what identifies a user, an organization or a role byte-exact, since the importer matches on it.
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { defineSink, outputPath } from '../pipelines/component.ts';
import { hasErrors, isUnmapped, type Envelope } from '../pipelines/record.ts';
import { WORKOS_CSV_COLUMNS } from '../stages/presets/workos-csv.ts';
import { SECRET_IN_LEDGER } from '../state/replay.ts';
import { openSinkOutput } from './output.ts';
import { checkRejectsPath, openRejects, rejectsPath } from './rejects.ts';
import { isFormulaLike, spreadsheetSafe } from './spreadsheet-safe.ts';

interface Layout {
  columns: string[];
  /**
   * Whether the WorkOS importer reads this layout: it has a password hash column, and the quote that makes a name
   * spreadsheet-safe stays in the name it imports.
   */
  forImporter: boolean;
  /** Columns written byte-exact, so not spreadsheet-safe: the importer matches on them. */
  exactColumns: number[];
  rows(envelope: Envelope): string[][];
}

function cell(value: string | undefined): string {
  return spreadsheetSafe(value ?? '');
}

function booleanCell(value: boolean | undefined): string {
  return value === undefined ? '' : String(value);
}

function jsonCell(value: object | undefined): string {
  return value === undefined || Object.keys(value).length === 0 ? '' : cell(JSON.stringify(value));
}

function hasFormulaLikeName({ firstName, lastName, orgs }: Envelope['user']): boolean {
  return [firstName, lastName, ...(orgs ?? []).map((org) => org.name)].some((name) => name !== undefined && isFormulaLike(name));
}

/** A user with several organizations takes one row per organization, its user columns repeated. */
const workosCsv: Layout = {
  columns: [...WORKOS_CSV_COLUMNS],
  forImporter: true,
  exactColumns: (['email', 'external_id', 'password_hash', 'org_id', 'org_external_id', 'role_slugs'] as const).map((name) => WORKOS_CSV_COLUMNS.indexOf(name)),
  rows({ user }) {
    const hashInLedger = user.passwordHash === SECRET_IN_LEDGER;
    // A quote in front of `-ana@example.com` or `+123` would import another email or external id, and a hash
    // (base64 may start with `+`) would no longer verify the password.
    const userCells = [
      user.email ?? '',
      cell(user.firstName),
      cell(user.lastName),
      booleanCell(user.emailVerified),
      user.externalId ?? '',
      hashInLedger ? '' : (user.passwordHash ?? ''),
      hashInLedger ? '' : (user.passwordHashType ?? ''),
      jsonCell(user.metadata),
    ];
    if (!user.orgs?.length) return [[...userCells, '', '', '', '']];
    return user.orgs.map((org) => [...userCells, org.id ?? '', org.externalId ?? '', cell(org.name), org.roles.join(',')]);
  },
};

const flat: Layout = {
  columns: ['seq', 'key', 'email', 'first_name', 'last_name', 'email_verified', 'external_id', 'metadata', 'orgs'],
  forImporter: false,
  exactColumns: [],
  rows({ seq, key, user }) {
    return [
      [
        String(seq),
        cell(key),
        cell(user.email),
        cell(user.firstName),
        cell(user.lastName),
        booleanCell(user.emailVerified),
        cell(user.externalId),
        jsonCell(user.metadata),
        jsonCell(user.orgs),
      ],
    ];
  },
};

const LAYOUTS = { 'workos-csv': workosCsv, flat };

const options = z.object({
  path: outputPath().default('-').describe('CSV file to write (created, or replaced whole once the sink is done: until then the old file stays as it was); `-` writes stdout'),
  layout: z
    .enum(['workos-csv', 'flat'])
    .default('workos-csv')
    .describe('`workos-csv`: the WorkOS import columns, one row per organization; `flat`: one row per user for review, never a password hash'),
  rejects: rejectsPath(),
});

export const csvSink = defineSink({
  name: 'csv',
  summary: 'Writes valid envelopes as CSV: the WorkOS import layout (identities byte-exact, names escaped against spreadsheet formulas) or a flat review layout; rows with error issues are left out.',
  options,
  create(options, ctx) {
    checkRejectsPath(options.rejects, options.path, ctx.baseDir);
    const layout = LAYOUTS[options.layout];
    return async (records) => {
      const result = { written: 0, failed: 0, skipped: 0 };
      let received = 0;
      let totpSecretsLeftOut = 0;
      let hashesInLedger = 0;
      let namesQuoted = 0;
      let unmapped = 0;
      let formulaLike = 0;
      async function* rows(envelopes: AsyncIterable<Envelope>): AsyncGenerator<string[]> {
        for await (const envelope of envelopes) {
          received++;
          // Invalid rows are counted by the engine, by issue code; a file sink leaves them out, or in its rejects file.
          if (hasErrors(envelope)) {
            await rejects.add(envelope);
            continue;
          }
          result.written++;
          if (envelope.user.totpSecret !== undefined) totpSecretsLeftOut++;
          if (layout.forImporter && envelope.user.passwordHash === SECRET_IN_LEDGER) hashesInLedger++;
          if (layout.forImporter && hasFormulaLikeName(envelope.user)) namesQuoted++;
          if (isUnmapped(envelope)) unmapped++;
          const written = layout.rows(envelope);
          if (written.some((row) => layout.exactColumns.some((index) => spreadsheetSafe(row[index] ?? '') !== row[index]))) formulaLike++;
          yield* written;
        }
      }
      const output = await openSinkOutput(options.path, ctx);
      const rejects = await openRejects(options.rejects, ctx);
      await rejects.finish(output.finish(pipeline(rows(records), stringify({ header: true, columns: layout.columns }), output.stream, { end: output.end }), () => received), () => received);
      if (formulaLike > 0) {
        ctx.log.warn(
          `csv: ${formulaLike} ${formulaLike === 1 ? 'user has' : 'users have'} an email, id, hash or role starting with = + - or @, kept byte-exact for the WorkOS importer: a spreadsheet opening this file would run it as a formula`,
        );
      }
      if (namesQuoted > 0) {
        ctx.log.warn(
          `csv: ${namesQuoted} ${namesQuoted === 1 ? 'user has a name or organization name' : 'users have names or organization names'} starting with = + - or @, written after a ' so that a spreadsheet shows ${namesQuoted === 1 ? 'it' : 'them'} as text: the WorkOS importer would keep the '; the workos sink sends names as they are`,
        );
      }
      if (unmapped > 0) {
        ctx.log.warn(`csv: ${unmapped} ${unmapped === 1 ? 'row has' : 'rows have'} no user fields, only a source record (no map stage before the sink?): written as empty cells`);
      }
      if (hashesInLedger > 0) {
        ctx.log.warn(
          `csv: ${hashesInLedger} ${hashesInLedger === 1 ? "user's password hash is" : "users' password hashes are"} kept in the ledger (rows of replay --export): written without ${hashesInLedger === 1 ? 'it' : 'them'}, so a CSV import leaves ${hashesInLedger === 1 ? 'that user' : 'them'} without a password; the workos sink with --ledger puts ${hashesInLedger === 1 ? 'it' : 'them'} back`,
        );
      }
      // Neither layout has a column for one (the WorkOS import CSV has none): an MFA secret must not vanish unsaid.
      if (totpSecretsLeftOut > 0) {
        ctx.log.warn(
          `csv: ${totpSecretsLeftOut} ${totpSecretsLeftOut === 1 ? 'user has' : 'users have'} a TOTP secret, which a CSV file has no column for: written without it (the workos sink imports TOTP factors)`,
        );
      }
      return output.settle(result);
    };
  },
});
