// The org and role mapping files of the map stage: read whole at create(), into a temporary database
// (MappedMemberships), so that every record can look its user up, in whatever order the export lists users.
import { pipeline } from 'node:stream';
import Database from 'better-sqlite3';
import { CsvError, parse } from 'csv-parse';
import { inputPath, type Context } from '../../pipelines/component.ts';
import { AuthpipeError, OptionError } from '../../pipelines/errors.ts';
import { counted } from '../../pipelines/log.ts';
import { REPLACEMENT_CHARACTER, ROLE_SLUG, ROLE_SLUG_RULE, type OrgRef, type UserDraft } from '../../pipelines/record.ts';
import { openInput, textOf, type Input } from '../../sources/input.ts';

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

export function mappingFile() {
  return inputPath().refine((path) => path !== '-', { message: 'a mapping file cannot be read from stdin, which carries the records' });
}

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

export class MappedMemberships {
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
export function reportUnmatched(memberships: MappedMemberships, ctx: Context): void {
  const { users, count } = memberships.unmatched(UNMATCHED_SHOWN);
  if (count === 0) return;
  const shown = users.map(({ userId, place }) => `${place} ${JSON.stringify(userId)}`);
  const more = count > UNMATCHED_SHOWN ? `, and ${count - UNMATCHED_SHOWN} more` : '';
  ctx.log.warn(
    `map: ${counted(count, 'user')} of the mapping files matched no record's externalId (ids are compared exactly), so their memberships were not imported: ${shown.join(', ')}${more}`,
  );
}

export function joinMemberships(memberships: MappedMemberships, user: UserDraft): void {
  if (user.externalId === undefined) return;
  const orgs = memberships.orgsOf(user.externalId);
  if (orgs.length === 0) return;
  user.orgs = user.orgs === undefined ? orgs : user.orgs.concat(orgs);
}

/** Every problem of the org and role mapping files, as a run would find it before its first record. */
export async function verifyMappingFiles(orgs: string | undefined, roles: string | undefined, ctx: Context): Promise<OptionError[]> {
  const problems: OptionError[] = [];
  // Each file on its own: a problem in one does not hide one in the other.
  for (const [file, layout] of [
    [orgs, ORG_FILE],
    [roles, ROLE_FILE],
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
}
