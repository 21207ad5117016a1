// Turns each source record (`raw`) into a WorkOS user draft: a provider preset first, then the declarative
// mapping on top, then memberships joined from the org and role mapping files.
import { pipeline } from 'node:stream';
import Database from 'better-sqlite3';
import { CsvError, parse } from 'csv-parse';
import { z } from 'zod';
import { defineStage, inputPath, type Context } from '../pipelines/component.ts';
import { AuthpipeError, OptionError } from '../pipelines/errors.ts';
import { describeOrigin, hasErrors, keyOf, REPLACEMENT_CHARACTER, ROLE_SLUG, ROLE_SLUG_RULE, type Envelope, type OrgRef, type UserDraft } from '../pipelines/record.ts';
import { openInput, textOf, type Input } from '../sources/input.ts';
import { didYouMean } from '../pipelines/suggest.ts';
import { addIssue, applyMapping, compileMapping, mappedSources, mappingOptions, readSource, type CompiledMapping, type SourceRecord } from './mapping.ts';
import { PRESET_NAMES, presets, type Preset } from './presets/index.ts';
import { counted } from '../pipelines/log.ts';

// Mapping files are read whole at create(), into a temporary database (MappedMemberships): every record must be able
// to look its user up, in whatever order the export lists users.
interface MappingFileLayout {
  /** The option that names the file. */
  option: 'orgs' | 'roles';
  columns: readonly string[];
  /** The first this many columns must be there, and filled on every line. */
  required: number;
  /** What is wrong with a line's values beyond an empty required one, if anything. */
  lineProblem?(values: string[]): string | undefined;
}

const ORG_FILE: MappingFileLayout = { option: 'orgs', columns: ['user_id', 'org_external_id', 'org_name'], required: 2 };
const ROLE_FILE: MappingFileLayout = {
  option: 'roles',
  columns: ['user_id', 'org_external_id', 'role_slug'],
  required: 3,
  // A display name (`Admin`) copied for the slug fails every membership it is in: the file is wrong, not the users.
  lineProblem: ([, , roleSlug]) => (ROLE_SLUG.test(roleSlug) ? undefined : `role ${JSON.stringify(roleSlug)} is not a role slug (${ROLE_SLUG_RULE})`),
};

function mappingFile() {
  return inputPath().refine((path) => path !== '-', { message: 'a mapping file cannot be read from stdin, which carries the records' });
}

const options = z.object({
  preset: z
    .enum(PRESET_NAMES)
    .optional()
    .describe(`Provider preset applied before \`fields\`: ${PRESET_NAMES.join(' or ')} (none by default)`),
  ...mappingOptions,
  orgs: mappingFile()
    .optional()
    .describe(
      'CSV with header `user_id,org_external_id,org_name` (org_name optional): one line per membership, several lines ' +
        'for a user in several orgs; user_id is matched against the mapped externalId',
    ),
  roles: mappingFile()
    .optional()
    .describe(
      'CSV with header `user_id,org_external_id,role_slug`: one line per role, several lines for several roles in ' +
        'one org; a role in an org missing from `orgs` makes that membership too',
    ),
});

interface ParsedRow {
  record: string[];
  info: { lines: number };
}

/** A usage error: the run stops before reading a row, as for a missing file. */
function invalidMappingFile(layout: MappingFileLayout, place: string, reason: string): OptionError {
  return new OptionError(layout.option, 'map.mapping_file_invalid', `${place}: ${reason}`);
}

/** A failure to read the file (unreadable, a folder, broken gzip), as a problem of the option that names it. */
function unreadableMappingFile(layout: MappingFileLayout, error: unknown): unknown {
  return error instanceof AuthpipeError && !(error instanceof OptionError) ? new OptionError(layout.option, error.code, error.message) : error;
}

/** Where each layout column sits in the file, -1 when an optional column is absent. */
function columnPositions(file: string, header: string[], layout: MappingFileLayout): number[] {
  const names = header.map((name) => name.toLowerCase());
  return layout.columns.map((column, index) => {
    const position = names.indexOf(column);
    if (position === -1 && index < layout.required) {
      const expected = layout.columns.slice(0, layout.required).join(',');
      throw invalidMappingFile(layout, `${file}:1`, `the header has no "${column}" column (expected ${expected}, then any others)`);
    }
    return position;
  });
}

/** Yields, per data line, the layout's columns in layout order, the file's name and the line; any malformed line stops the run with its place. */
async function* readMappingFile(file: string, layout: MappingFileLayout, ctx: Context): AsyncGenerator<{ values: string[]; file: string; line: number }> {
  let input: Input;
  try {
    input = await openInput(file, ctx);
  } catch (error) {
    throw unreadableMappingFile(layout, error);
  }
  const parser = parse({ info: true, relax_column_count: true, skip_empty_lines: true, trim: true });
  // Decoded first: csv-parse reads UTF-16 (Excel's "Unicode text") a byte off once it trims a cell, and makes
  // valid-looking CJK names of it.
  const rows: AsyncIterable<ParsedRow> = pipeline(input.stream, textOf, parser, () => undefined);
  let positions: number[] | undefined;
  let width = 0;
  try {
    for await (const { record, info } of rows) {
      if (positions === undefined) {
        positions = columnPositions(input.name, record, layout);
        width = record.length;
        continue;
      }
      const place = `${input.name}:${info.lines}`;
      if (record.length !== width) throw invalidMappingFile(layout, place, `expected ${width} cells (one per column), got ${record.length}`);
      const values = positions.map((position) => (position === -1 ? '' : record[position]));
      // Bytes that are not UTF-8 read as U+FFFD: a Latin-1 file would otherwise create mangled organization names.
      if (values.some((value) => value.includes(REPLACEMENT_CHARACTER))) throw invalidMappingFile(layout, place, 'has bytes that are not UTF-8; save the file as UTF-8');
      for (let index = 0; index < layout.required; index++) {
        if (values[index] === '') throw invalidMappingFile(layout, place, `${layout.columns[index]} is empty`);
      }
      const problem = layout.lineProblem?.(values);
      if (problem !== undefined) throw invalidMappingFile(layout, place, problem);
      yield { values, file: input.name, line: info.lines };
    }
  } catch (error) {
    if (error instanceof CsvError) throw invalidMappingFile(layout, `${input.name}:${error.lines}`, `not valid CSV (${error.code})`);
    throw unreadableMappingFile(layout, error);
  }
  if (positions === undefined) {
    throw invalidMappingFile(layout, `${input.name}:1`, `the file is empty; expected the header ${layout.columns.join(',')}`);
  }
}

/**
 * The org and role files joined by source user id, in a temporary database rather than in memory: a mapping file may
 * list every user of a million-row export. Lines are appended as read and indexed once all are in, and the users that
 * records meet are appended too: with users in random order, each insert or update in place missed SQLite's cache
 * (a million took minutes). Memberships keep the order the files give them, roles the order of their lines.
 */
const MET_BATCH = 4096;

class MappedMemberships {
  private readonly db = new Database('');
  private readonly statements;
  /** The mapping files as their lines name them; a line's `file` is its index here. */
  private readonly files: string[] = [];
  /** Names belong to orgs, not to memberships: a role-only membership still gets the name another line gave. */
  private readonly orgNames = new Map<string, string>();
  /** Users met since the last batch was written: a transaction per insert cost more than the lookups. */
  private metBatch: string[] = [];

  private constructor() {
    // A throwaway file: no journal to keep, nothing to sync.
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec(`
      CREATE TABLE lines (user_id TEXT NOT NULL, org TEXT NOT NULL, role TEXT, file INTEGER NOT NULL, line INTEGER NOT NULL);
      CREATE TABLE met (user_id TEXT NOT NULL);
    `);
    this.statements = {
      addLine: this.db.prepare('INSERT INTO lines (user_id, org, role, file, line) VALUES (?, ?, ?, ?, ?)'),
      linesOf: this.db.prepare('SELECT org, role FROM lines WHERE user_id = ? ORDER BY rowid'),
      met: this.db.prepare('INSERT INTO met (user_id) VALUES (?)'),
    };
  }

  static async load(orgFile: string | undefined, roleFile: string | undefined, ctx: Context): Promise<MappedMemberships> {
    const index = new MappedMemberships();
    try {
      index.db.exec('BEGIN');
      if (orgFile !== undefined) {
        for await (const { values: [userId, org, name], file, line } of readMappingFile(orgFile, ORG_FILE, ctx)) {
          index.statements.addLine.run(userId, org, null, index.fileNumber(file), line);
          if (name !== '' && !index.orgNames.has(org)) index.orgNames.set(org, name);
        }
      }
      if (roleFile !== undefined) {
        for await (const { values: [userId, org, role], file, line } of readMappingFile(roleFile, ROLE_FILE, ctx)) {
          index.statements.addLine.run(userId, org, role, index.fileNumber(file), line);
        }
      }
      // Covering: a record's lookup reads the index alone.
      index.db.exec('COMMIT; CREATE INDEX lines_by_user ON lines (user_id, org, role, file, line);');
      return index;
    } catch (error) {
      index.close();
      throw error;
    }
  }

  /** The user's memberships, new objects each time (a later stage may annotate them); the user counts as met. */
  orgsOf(userId: string): OrgRef[] {
    const lines = this.statements.linesOf.all(userId) as { org: string; role: string | null }[];
    if (lines.length === 0) return [];
    this.metBatch.push(userId);
    if (this.metBatch.length >= MET_BATCH) this.writeMet();
    const byOrg = new Map<string, OrgRef>();
    for (const { org, role } of lines) {
      let ref = byOrg.get(org);
      if (ref === undefined) {
        const name = this.orgNames.get(org);
        ref = name === undefined ? { externalId: org, roles: [] } : { externalId: org, name, roles: [] };
        byOrg.set(org, ref);
      }
      if (role !== null && !ref.roles.includes(role)) ref.roles.push(role);
    }
    return [...byOrg.values()];
  }

  /** Up to `shown` users no record met, at the first line naming each, and how many there are in all. */
  unmatched(shown: number): { users: { userId: string; place: string }[]; count: number } {
    this.writeMet();
    this.db.exec('CREATE INDEX met_users ON met (user_id)');
    const unmet = 'FROM lines WHERE user_id NOT IN (SELECT user_id FROM met)';
    const count = this.db.prepare(`SELECT count(DISTINCT user_id) ${unmet}`).pluck().get() as number;
    const first = this.db.prepare(`SELECT user_id AS userId, file, line FROM lines WHERE rowid IN (SELECT min(rowid) ${unmet} GROUP BY user_id) ORDER BY rowid LIMIT ?`);
    const users = (first.all(shown) as { userId: string; file: number; line: number }[]).map(({ userId, file, line }) => ({ userId, place: `${this.files[file]}:${line}` }));
    return { users, count };
  }

  close(): void {
    this.db.close();
  }

  private writeMet(): void {
    const batch = this.metBatch;
    this.metBatch = [];
    this.db.transaction(() => batch.forEach((userId) => this.statements.met.run(userId)))();
  }

  private fileNumber(file: string): number {
    const known = this.files.indexOf(file);
    return known === -1 ? this.files.push(file) - 1 : known;
  }
}

/** Mapping-file users quoted by place in the warning about users no record had. */
const UNMATCHED_SHOWN = 3;

/**
 * Says which users of the mapping files no record had: their memberships were not imported. Ids copied from
 * another system in another case (`USER_2A...`), or with stray spaces, otherwise lose every membership silently.
 */
function reportUnmatched(memberships: MappedMemberships, ctx: Context): void {
  const { users, count } = memberships.unmatched(UNMATCHED_SHOWN);
  if (count === 0) return;
  const shown = users.map(({ userId, place }) => `${place} ${JSON.stringify(userId)}`);
  const more = count > UNMATCHED_SHOWN ? `, and ${count - UNMATCHED_SHOWN} more` : '';
  ctx.log.warn(
    `map: ${counted(count, 'user')} of the mapping files matched no record's externalId (ids are compared exactly), so their memberships were not imported: ${shown.join(', ')}${more}`,
  );
}

function joinMemberships(memberships: MappedMemberships, user: UserDraft): void {
  if (user.externalId === undefined) return;
  const orgs = memberships.orgsOf(user.externalId);
  if (orgs.length === 0) return;
  user.orgs = user.orgs === undefined ? orgs : user.orgs.concat(orgs);
}

/**
 * A header as a person or a tool may write it: `First Name`, ` EMAIL `, `first-name` and `firstName` all mean
 * `first_name`. Invisible format characters (a zero-width space or a direction mark pasted in, a byte order mark) are
 * no part of a column's name.
 */
function plainName(name: string): string {
  return name
    .replace(/\p{Cf}/gu, '')
    .trim()
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Column names not written the way presets and mappings name them, each read under its plain name (`First Name` as
 * `first_name`) in records that lack a column of that name. Learnt as records come: a CSV export has the same columns
 * on every row, but a JSON or NDJSON one (Firebase, Auth0) leaves absent keys out, so a later record may bring new ones.
 */
class PlainNames {
  private readonly aliases: [alias: string, column: string][] = [];
  private readonly seen = new Set<string>();

  /** Learns the record's columns not seen before; the aliases among them. */
  learn(raw: SourceRecord): [alias: string, column: string][] {
    let fresh = false;
    for (const column in raw) {
      if (!this.seen.has(column)) {
        fresh = true;
        break;
      }
    }
    if (!fresh) return [];
    const found: [string, string][] = [];
    for (const column of Object.keys(raw)) {
      if (this.seen.has(column)) continue;
      this.seen.add(column);
      const alias = plainName(column);
      if (alias !== column) found.push([alias, column]);
    }
    this.aliases.push(...found);
    return found;
  }

  /** The record with its aliased columns also under their plain names. */
  named(raw: SourceRecord): SourceRecord {
    if (this.aliases.length === 0) return raw;
    const named = { ...raw };
    for (const [alias, column] of this.aliases) if (column in raw && !(alias in raw)) named[alias] = raw[column];
    return named;
  }
}

function reportAliases(aliases: [string, string][], ctx: Context): void {
  if (aliases.length > 0) ctx.log.info(`map: columns read under plain names: ${aliases.map(([alias, column]) => `${JSON.stringify(column)} as ${alias}`).join(', ')}`);
}

/**
 * Says, once, what the first record tells about the input: headers read under plain names, and the columns the preset
 * or the mapping reads that it lacks. A misspelt or missing column fails no row by itself; without a word, every user
 * would be imported without a password, or with no email at all, and the count by code would not say why.
 */
function reportColumns(envelope: Envelope, raw: SourceRecord, named: SourceRecord, preset: Preset | undefined, mapping: CompiledMapping, ctx: Context): void {
  const place = `map: the first record (${describeOrigin(envelope.origin)})`;
  const columns = Object.keys(raw);
  const sources = mappedSources(mapping);
  const listed = columns.map((column) => JSON.stringify(column)).join(', ');
  const missing = preset?.identityColumns.filter((column) => !(column in named)) ?? [];
  if (preset !== undefined && missing.length > 0) {
    ctx.log.warn(`${place} has no ${missing.join(' or ')} column, which the ${preset.name} preset reads; its columns are ${listed}`);
  } else if (preset !== undefined) {
    // A column the preset reads under its own name is no misspelling of another.
    const read = new Set([...preset.identityColumns, ...Object.keys(preset.dataColumns), ...preset.optionalColumns]);
    const unread = columns.filter((column) => !read.has(column) && !read.has(plainName(column)));
    for (const [column, consequence] of Object.entries(preset.dataColumns)) {
      if (!(column in named)) ctx.log.warn(`${place} has no ${column} column${didYouMean(column, unread)}, which the ${preset.name} preset reads: ${consequence}`);
    }
    // An optional column missing is normal; one there under a near name (`lastname`) is a value lost on every row.
    const mapped = new Set(sources.map(({ source }) => source.name));
    for (const column of preset.optionalColumns) {
      if (column in named) continue;
      const near = didYouMean(column, unread.filter((candidate) => !mapped.has(candidate)));
      if (near !== '') ctx.log.warn(`${place} has no ${column} column${near}, which the ${preset.name} preset reads: its values are left out`);
    }
  }
  for (const { source, option } of sources) {
    if (readSource(named, source) === undefined) {
      ctx.log.warn(`${place} has no field ${JSON.stringify(source.name)}${didYouMean(source.name, columns)}, which ${option} reads; its fields are ${listed}`);
    }
  }
}

export const mapStage = defineStage({
  name: 'map',
  summary: 'Maps source records onto WorkOS users with a provider preset and declarative field mappings, and joins org and role files.',
  options,
  async verify(options, ctx) {
    const problems: OptionError[] = [];
    // Each file on its own: a problem in one does not hide one in the other.
    for (const [file, layout] of [
      [options.orgs, ORG_FILE],
      [options.roles, ROLE_FILE],
    ] as const) {
      if (file === undefined) continue;
      try {
        for await (const line of readMappingFile(file, layout, ctx)) void line;
      } catch (error) {
        if (!(error instanceof OptionError)) throw error;
        problems.push(error);
      }
    }
    return problems;
  },
  async create(options, ctx) {
    const preset = options.preset === undefined ? undefined : presets[options.preset];
    const mapping = compileMapping(options);
    const memberships = options.orgs === undefined && options.roles === undefined ? undefined : await MappedMemberships.load(options.orgs, options.roles, ctx);

    return async function* mapRecords(input) {
      const plainNames = new PlainNames();
      let firstRecord = true;
      try {
        for await (const envelope of input) {
          const raw = envelope.raw;
          // A record the source already rejected has nothing trustworthy to map.
          if (hasErrors(envelope)) {
            yield envelope;
            continue;
          }
          if (raw === undefined) {
            addIssue(envelope, 'error', 'map.no_source_record', 'raw', 'the record carries no source fields (raw) to map');
            yield envelope;
            continue;
          }
          reportAliases(plainNames.learn(raw), ctx);
          const named = plainNames.named(raw);
          if (firstRecord) reportColumns(envelope, raw, named, preset, mapping, ctx);
          firstRecord = false;
          envelope.user = {};
          preset?.map(named, envelope);
          applyMapping(mapping, named, envelope);
          if (memberships !== undefined) joinMemberships(memberships, envelope.user);
          envelope.key = keyOf(envelope.user, envelope.seq);
          yield envelope;
        }
        if (memberships !== undefined && !ctx.signal.aborted && !ctx.incomplete.signal.aborted) reportUnmatched(memberships, ctx);
      } finally {
        memberships?.close();
      }
    };
  },
});
