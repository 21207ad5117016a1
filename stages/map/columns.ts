// The columns of the map stage's input: headers read under the plain names presets use, and what the first record
// says about the columns a preset or a mapping reads.
import type { Context } from '../../pipelines/component.ts';
import { describeOrigin, type Envelope } from '../../pipelines/record.ts';
import { didYouMean } from '../../pipelines/suggest.ts';
import { mappedSources, readSource, type CompiledMapping, type SourceRecord } from '../mapping.ts';
import type { Preset } from '../presets/index.ts';

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

/** Lines naming newly learnt plain names, at most: records with keys of their own would otherwise log one a row. */
const ALIAS_REPORTS = 10;

/**
 * Column names not written the way presets and mappings name them, each read under its plain name (`First Name` as
 * `first_name`) in records that lack a column of that name. Learnt as records come: a CSV export has the same columns
 * on every row, but a JSON or NDJSON one (Firebase, Auth0) leaves absent keys out, so a later record may bring new ones.
 */
export class PlainNames {
  /** Plain name by column, for the columns not written plainly. */
  private readonly aliasOf = new Map<string, string>();
  private readonly seen = new Set<string>();
  private reports = 0;

  constructor(private readonly ctx: Context) {}

  /** Learns the record's columns not seen before, and says which are read under plain names. */
  learn(raw: SourceRecord): void {
    let found: [alias: string, column: string][] | undefined;
    for (const column in raw) {
      if (this.seen.has(column)) continue;
      this.seen.add(column);
      const alias = plainName(column);
      if (alias === column) continue;
      this.aliasOf.set(column, alias);
      (found ??= []).push([alias, column]);
    }
    if (found !== undefined) this.report(found);
  }

  /** The record with its aliased columns also under their plain names. */
  named(raw: SourceRecord): SourceRecord {
    if (this.aliasOf.size === 0) return raw;
    let named: SourceRecord | undefined;
    for (const column in raw) {
      const alias = this.aliasOf.get(column);
      if (alias !== undefined && !(alias in raw)) (named ??= { ...raw })[alias] = raw[column];
    }
    return named ?? raw;
  }

  private report(aliases: [alias: string, column: string][]): void {
    this.reports++;
    if (this.reports <= ALIAS_REPORTS) {
      this.ctx.log.info(`map: columns read under plain names: ${aliases.map(([alias, column]) => `${JSON.stringify(column)} as ${alias}`).join(', ')}`);
    } else if (this.reports === ALIAS_REPORTS + 1) {
      this.ctx.log.info('map: later records bring more columns to read under plain names; they are read so, and not listed');
    }
  }
}

/**
 * Says, once, what the first record tells about the input: headers read under plain names, and the columns the preset
 * or the mapping reads that it lacks. A misspelt or missing column fails no row by itself; without a word, every user
 * would be imported without a password, or with no email at all, and the count by code would not say why.
 */
export function reportColumns(envelope: Envelope, raw: SourceRecord, named: SourceRecord, preset: Preset | undefined, mapping: CompiledMapping, ctx: Context): void {
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
