// The end-of-run summary on stderr, for people (text) or machines (--json).
import { exitCodeOf, type RunStats } from './run.ts';
import { counted, forPeople } from './log.ts';

function byCode(tally: Record<string, number>): string {
  return Object.entries(tally)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
}

export function rowsPerSecond(stats: RunStats): number {
  return stats.elapsedMs > 0 ? Math.round((stats.read / stats.elapsedMs) * 1000) : 0;
}

/** How the run ended; the error of a run that failed partway is printed after the summary. */
function statusOf(stats: RunStats): string {
  if (stats.interrupted) return 'interrupted';
  return stats.failedPartway ? 'stopped by the error below' : 'finished';
}

export function summaryText(name: string, stats: RunStats): string {
  const status = statusOf(stats);
  const lines = [
    `${name}: ${status} in ${(stats.elapsedMs / 1000).toFixed(2)} s`,
    `  read      ${stats.read} (${rowsPerSecond(stats)} rows/s)`,
  ];
  if (stats.merged > 0) lines.push(`  merged    ${stats.merged}   (joined into another row of the same user)`);
  lines.push(`  written   ${stats.written}`);
  if (stats.skipped > 0) lines.push(`  skipped   ${stats.skipped}`);
  if (stats.failed > 0) lines.push(`  failed    ${stats.failed}`);
  lines.push(`  invalid   ${stats.invalidRows}${stats.invalidRows > 0 ? `   ${byCode(stats.invalidByCode)}` : ''}`);
  lines.push(...invalidExamples(stats));
  const warnings = Object.values(stats.warningsByCode).reduce((sum, n) => sum + n, 0);
  lines.push(`  warnings  ${warnings}${warnings > 0 ? `   ${byCode(stats.warningsByCode)}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Where the first invalid rows are, each with its first error: a count alone leaves a person searching the export. */
function invalidExamples(stats: RunStats): string[] {
  const shown = stats.invalidExamples.map((example) => `            ${forPeople(example)}`);
  const more = stats.invalidRows - stats.invalidExamples.length;
  if (more > 0) shown.push(`            and ${counted(more, 'more invalid row')}`);
  return shown;
}

/**
 * One line per verb, so a Unix chain of verbs reports without drowning the terminal; with `listInvalid` (the verb
 * that ends the chain in a file), the invalid rows it left out follow.
 */
export function summaryLine(name: string, stats: RunStats, listInvalid = false): string {
  const status = statusOf(stats);
  const invalid = stats.invalidRows > 0 ? ` (${byCode(stats.invalidByCode)})` : '';
  const warnings = Object.values(stats.warningsByCode).reduce((sum, n) => sum + n, 0);
  const line = `${name}: ${status}, ${counted(stats.read, 'row')} in ${(stats.elapsedMs / 1000).toFixed(2)} s, ${stats.invalidRows} invalid${invalid}, ${counted(warnings, 'warning')}`;
  return `${[line, ...(listInvalid ? invalidExamples(stats) : [])].join('\n')}\n`;
}

/** What stopped a run that could not finish, as --json reports it. */
export interface Failure {
  code: string;
  message: string;
  exitCode: number;
}

/** A failure before any row was read, as the JSON summary states one. */
export function failureJson(failure: Failure): string {
  return `${JSON.stringify({ error: { code: failure.code, message: forPeople(failure.message) }, exitCode: failure.exitCode })}\n`;
}

export function summaryJson(name: string, stats: RunStats, failure?: Failure): string {
  return `${JSON.stringify({
    name,
    read: stats.read,
    merged: stats.merged,
    written: stats.written,
    skipped: stats.skipped,
    failed: stats.failed,
    invalid: { rows: stats.invalidRows, byCode: stats.invalidByCode, examples: stats.invalidExamples.map((example) => forPeople(example)) },
    warnings: { byCode: stats.warningsByCode },
    elapsedMs: Math.round(stats.elapsedMs),
    rowsPerSecond: rowsPerSecond(stats),
    ...(stats.sink === undefined ? {} : { sink: stats.sink }),
    interrupted: stats.interrupted,
    unproven: stats.unproven,
    ...(stats.after === undefined ? {} : { after: stats.after }),
    ...(failure ? { error: { code: failure.code, message: forPeople(failure.message) }, exitCode: failure.exitCode } : { exitCode: exitCodeOf(stats) }),
  })}\n`;
}
