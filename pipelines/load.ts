// Pipeline file -> validated spec. Every problem is collected and reported at once as file:line:col,
// before a single row is read.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, parse as parseYamlValue, visit } from 'yaml';
import { z } from 'zod';
import type { AfterComponent, Component, Context, SinkComponent, SourceComponent, StageComponent } from './component.ts';
import { PipelineFileError, UsageError, type Problem } from './errors.ts';
import { flagName } from './flags.ts';
import { interpolate } from './interpolate.ts';
import { isSameFile } from './same-file.ts';
import { describeOptions, isListOrMapText, keysAt } from './options.ts';
import { registry, type ComponentKind } from './registry.ts';
import { didYouMean } from './suggest.ts';

export interface Block<C extends Component> {
  component: C;
  options: Record<string, unknown>;
}

export interface PipelineSpec {
  file: string;
  baseDir: string;
  name: string;
  source: Block<SourceComponent>;
  stages: Block<StageComponent>[];
  sink: Block<SinkComponent>;
  ledger?: string;
  /** Steps run once the sink has written every row. */
  after: Block<AfterComponent>[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** `--set path=value` overrides, applied before validation. */
  sets?: string[];
}

type PathSegment = string | number;

const block = z.looseObject({ use: z.string().min(1) });
const pipelineShape = z.strictObject({
  version: z.literal(1).describe('Pipeline file format version'),
  name: z.string().min(1).describe('Name of the migration, used in logs and the ledger'),
  source: block,
  stages: z.array(block).default([]),
  sink: block,
  ledger: z.string().min(1).optional().describe('SQLite ledger file of this migration'),
  after: z.array(block).default([]).describe('Steps run once every row is written, such as { use: diff }'),
});

/** The blocks of a file whose top level may be wrong elsewhere; a block that is not one is left to the top-level problems. */
const blockParts = z.looseObject({
  source: block.optional().catch(undefined),
  stages: z.array(block).optional().catch(undefined),
  sink: block.optional().catch(undefined),
  after: z.array(block).optional().catch(undefined),
});

class ProblemCollector {
  readonly problems: Problem[] = [];
  private readonly placesWithProblems: PathSegment[][] = [];
  /** Values given by `--set`: a problem in one is theirs, not the file's, though it is reported at its place. */
  private readonly sets: { where: PathSegment[]; assignment: string }[] = [];

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  setBy(where: PathSegment[], assignment: string): void {
    this.sets.push({ where, assignment });
  }

  /** Every problem found, in the order of the file. */
  error(): PipelineFileError {
    return new PipelineFileError(this.problems.sort((a, b) => a.line - b.line || a.col - b.col));
  }

  at(offset: number, code: string, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, col, code, message });
  }

  /** Reports at the node found at `where`, or at its nearest existing parent when the key is absent. */
  atPath(where: PathSegment[], code: string, message: string): void {
    this.placesWithProblems.push(where);
    this.at(this.offsetOf(where), code, this.withSetter(where, message));
  }

  /** Whether a problem was reported at `where` or within it (unknown keys aside). */
  hasProblemsWithin(where: PathSegment[]): boolean {
    return this.placesWithProblems.some((place) => where.every((segment, index) => place[index] === segment));
  }

  /** Reports at a key of a mapping, for unknown keys. */
  atKey(mapPath: PathSegment[], key: string, code: string, message: string): void {
    const map = mapPath.length === 0 ? this.doc.contents : this.doc.getIn(mapPath, true);
    if (isMap(map)) {
      const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair && isNode(pair.key) && pair.key.range) return this.at(pair.key.range[0], code, this.withSetter([...mapPath, key], message));
    }
    this.atPath([...mapPath, key], code, message);
  }

  /** Whether the value at `where` was given by `--set` (itself, or within a value set whole). */
  isSet(where: PathSegment[]): boolean {
    return this.setOf(where) !== undefined;
  }

  private setOf(where: PathSegment[]): { assignment: string } | undefined {
    return this.sets.find((candidate) => candidate.where.length <= where.length && candidate.where.every((segment, index) => segment === where[index]));
  }

  /** The message, saying which --set gave the value at `where`, or the key there (`--set sourc.path=...` names `sourc`). */
  private withSetter(where: PathSegment[], message: string): string {
    const set = this.setOf(where) ?? this.sets.find((candidate) => where.every((segment, index) => segment === candidate.where[index]));
    // Never the value: it may be a secret (`--set sink.apikey=sk_live_...`, misspelt, is no known secret option).
    return set === undefined ? message : `${message} (given by --set ${set.assignment.slice(0, set.assignment.indexOf('='))}=...)`;
  }

  private offsetOf(where: PathSegment[]): number {
    for (let depth = where.length; depth >= 0; depth--) {
      const node = depth === 0 ? this.doc.contents : this.doc.getIn(where.slice(0, depth), true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return 0;
  }
}

function parseSet(assignment: string): { where: PathSegment[]; value: unknown } {
  const equals = assignment.indexOf('=');
  if (equals <= 0) throw new UsageError('cli.invalid_set', `--set expects path=value, got "${assignment}"`);
  const where = assignment
    .slice(0, equals)
    .split('.')
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  const text = assignment.slice(equals + 1);
  // A list or map is YAML (`--set stages.1.rules=[email,hash]`); anything else stays text for the schema to type.
  return { where, value: isListOrMapText(text) ? parseYamlValue(text) : text };
}

/**
 * A --set index past the end of a list would make the entries before it empty, each reported as missing: the list's
 * length is said instead, with the index that adds an entry.
 */
function checkSetIndexes(doc: Document, where: PathSegment[]): void {
  where.forEach((segment, at) => {
    const list = typeof segment === 'number' ? doc.getIn(where.slice(0, at), true) : undefined;
    if (!isSeq(list) || (segment as number) <= list.items.length) return;
    const name = where.slice(0, at).join('.');
    const count = list.items.length;
    const entries = count === 0 ? 'no entries' : count === 1 ? `1 entry (${name}.0)` : `${count} entries (${name}.0 to ${name}.${count - 1})`;
    // The path alone: the value may be a secret.
    throw new UsageError('cli.invalid_set', `--set ${where.join('.')}=...: ${name} has ${entries}; ${name}.${count} adds one`);
  });
}

/** A scalar as the schema wants it, or undefined when it cannot be: text (`${N}`, `--set`) to a number or boolean, and a YAML number to text. */
function retyped(expected: string, value: unknown): unknown {
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (typeof value !== 'string') return undefined;
  if (expected === 'number' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (expected === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return undefined;
}

/**
 * Validates `value`, typing scalars where the schema says what they are: only it knows that `concurrency: ${N}` is
 * a number while `name: ${RUN}` (RUN=20240101) is text. Scalars are changed in place, then checked again.
 */
function safeParseTyped<T extends z.ZodType>(schema: T, value: unknown): z.ZodSafeParseResult<z.output<T>> {
  for (;;) {
    const result = schema.safeParse(value);
    if (result.success) return result;
    let changed = false;
    for (const issue of result.error.issues) {
      if (issue.code !== 'invalid_type' || issue.path.length === 0) continue;
      const parent = issue.path.slice(0, -1).reduce<unknown>((node, segment) => (node as Record<PropertyKey, unknown> | undefined)?.[segment], value);
      if (typeof parent !== 'object' || parent === null) continue;
      const key = issue.path[issue.path.length - 1];
      const typed = retyped(issue.expected, (parent as Record<PropertyKey, unknown>)[key]);
      if (typed === undefined) continue;
      (parent as Record<PropertyKey, unknown>)[key] = typed;
      changed = true;
    }
    if (!changed) return result;
  }
}

/** A value that is one reference with an empty default, `${REJECTS:-}`: no value unless the variable is set. */
const OPTIONAL_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*):-\}$/;

function interpolateScalars(doc: Document, env: NodeJS.ProcessEnv, report: ProblemCollector): void {
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.value) || typeof pair.value.value !== 'string') return undefined;
      const name = OPTIONAL_REFERENCE.exec(pair.value.value)?.[1];
      // The key goes, and the option takes its default, as when it is not written.
      return name !== undefined && !env[name] ? visit.REMOVE : undefined;
    },
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const original = node.value;
      const { value, missing, malformed } = interpolate(original, env);
      for (const reference of malformed) {
        report.at(node.range?.[0] ?? 0, 'pipeline.bad_variable', `malformed variable reference ${JSON.stringify(reference)}: write \${NAME} or \${NAME:-default}`);
      }
      for (const name of missing) {
        report.at(node.range?.[0] ?? 0, 'pipeline.unset_variable', `environment variable ${name} is not set or is empty (write \${${name}:-default} to give a default)`);
      }
      node.value = value;
    },
  });
}

type PathProblem = 'file not found' | 'folder not found' | 'is a folder, not a file' | 'not readable by this user' | 'folder not writable by this user';

const PATH_PROBLEM_CODES: Record<PathProblem, string> = {
  'file not found': 'file_not_found',
  'folder not found': 'folder_not_found',
  'is a folder, not a file': 'path_is_folder',
  'not readable by this user': 'file_unreadable',
  'folder not writable by this user': 'folder_unwritable',
};

function mayAccess(file: string, mode: number): boolean {
  try {
    accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves path options against the folder `baseDirOf` gives for each ('-' stays stdin/stdout) and reports what cannot
 * work before any row is read: an input file that is not there or not readable, the folder an output file goes into
 * (there, and writable), a folder where a file is named.
 */
function resolvePaths(
  component: Component,
  parsed: Record<string, unknown>,
  baseDirOf: (key: string) => string,
  onProblem: (key: string, at: string, problem: PathProblem, role: 'input' | 'output') => void,
): Record<string, unknown> {
  const options = { ...parsed };
  for (const field of describeOptions(component.options)) {
    const value = options[field.key];
    if (!field.pathRole || typeof value !== 'string' || value === '-') continue;
    const absolute = path.resolve(baseDirOf(field.key), value);
    const needed = field.pathRole === 'input' ? absolute : path.dirname(absolute);
    if (!existsSync(needed)) onProblem(field.key, needed, field.pathRole === 'input' ? 'file not found' : 'folder not found', field.pathRole);
    else if (statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) onProblem(field.key, absolute, 'is a folder, not a file', field.pathRole);
    else if (field.pathRole === 'input' && !mayAccess(absolute, constants.R_OK)) onProblem(field.key, absolute, 'not readable by this user', 'input');
    // A file there that may be written is written in place; otherwise the folder takes it.
    else if (field.pathRole === 'output' && !mayAccess(absolute, constants.W_OK) && !mayAccess(needed, constants.W_OK | constants.X_OK)) {
      onProblem(field.key, needed, 'folder not writable by this user', 'output');
    }
    options[field.key] = absolute;
  }
  return options;
}

/** zod's words for a problem, but `missing` for a key not there at all ("expected string, received undefined"). */
function issueText(issue: z.core.$ZodIssue): string {
  return issue.code === 'invalid_type' && / received undefined$/.test(issue.message) ? 'missing' : issue.message;
}

/**
 * A value matching no branch of a union (`"email"` or `{from, trim}`) is reported by zod as "Invalid input". The
 * branches of the value's own type (an object for an object) say what is wrong inside it, with a "did you mean".
 */
function withinUnions(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union') return [issue];
    const sameType = issue.errors.filter((branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
    if (sameType.length === 0) return [issue];
    return withinUnions(sameType.flat().map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });
}

/** A block and where it is in the pipeline file. */
interface Located {
  block: Block<Component>;
  where: PathSegment[];
}

/**
 * The block, or undefined when an option is wrong; `verifiable` gets the block, or one of its sound options alone
 * (for check to read the files they name).
 */
function validateBlock<K extends ComponentKind>(
  kind: K,
  raw: Record<string, unknown>,
  where: PathSegment[],
  baseDir: string,
  report: ProblemCollector,
  verifiable: Located[],
): Block<(typeof registry)[K][string]> | undefined {
  const { use, ...given } = raw as { use: string } & Record<string, unknown>;
  const components = registry[kind];
  const component = components[use] as (typeof registry)[K][string] | undefined;
  if (!component) {
    report.atPath([...where, 'use'], 'pipeline.unknown_component', `unknown ${kind} "${use}"${didYouMean(use, Object.keys(components))}; known: ${Object.keys(components).join(', ')}`);
    return undefined;
  }
  // A path in the file is relative to the file; one typed on the command line, as --set, to the current folder.
  const baseDirOf = (key: string) => (report.isSet([...where, key]) ? process.cwd() : baseDir);
  const checkPaths = (values: Record<string, unknown>) =>
    resolvePaths(component, values, baseDirOf, (key, at, problem) =>
      report.atPath([...where, key], `pipeline.${PATH_PROBLEM_CODES[problem]}`, `${kind} "${use}" option ${key}: ${problem}: ${at}`),
    );
  const parsed = safeParseTyped(component.options.strict(), given);
  if (!parsed.success) {
    const faultyKeys = new Set<PropertyKey>();
    for (const issue of withinUnions(parsed.error.issues)) {
      const issuePath = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
      if (issuePath.length > 0) faultyKeys.add(issuePath[0]);
      if (issue.code === 'unrecognized_keys') {
        const known = keysAt(component.options, issuePath);
        for (const key of issue.keys) {
          const owner = issuePath.length === 0 ? `${kind} "${use}" has no option` : `${kind} "${use}" option ${issuePath.join('.')} has no key`;
          report.atKey([...where, ...issuePath], key, 'pipeline.unknown_key', `${owner} "${key}"${didYouMean(key, known)}`);
        }
      } else {
        const label = issuePath.length > 0 ? issuePath.join('.') : use;
        report.atPath([...where, ...issuePath], 'pipeline.invalid_option', `${kind} "${use}" option ${label}: ${issueText(issue)}`);
      }
    }
    // The block's sound options are checked too (their files, and for check what those files hold): a misspelt key
    // must not hide a missing or broken file until it is fixed.
    const sound = Object.fromEntries(Object.entries(given).filter(([key]) => !faultyKeys.has(key)));
    const soundParsed = component.options.safeParse(sound);
    if (soundParsed.success) verifiable.push({ block: { component, options: checkPaths(soundParsed.data) }, where });
    else checkPaths(sound);
    return undefined;
  }
  const options = checkPaths(parsed.data);
  verifiable.push({ block: { component, options }, where });
  return { component, options };
}

/** Whether `file` is the ledger, one of its WAL files or its lock: a file written there would destroy it. */
export function isLedgerFile(file: string, ledger: string): boolean {
  return [ledger, `${ledger}-wal`, `${ledger}-shm`, `${ledger}.lock`].includes(file) || isSameFile(file, ledger);
}

/** The block's path options of one role, resolved, with the path of each in the pipeline file. */
function pathOptions(block: Block<Component>, where: PathSegment[], role: 'input' | 'output'): { where: PathSegment[]; file: string }[] {
  return describeOptions(block.component.options).flatMap((field) => {
    const value = block.options[field.key];
    return field.pathRole === role && typeof value === 'string' && value !== '-' ? [{ where: [...where, field.key], file: value }] : [];
  });
}

/**
 * A sink or a ledger at the path of a file the pipeline reads would truncate that file (a whole export) before a row
 * of it is read; the ledger would also turn it into a database.
 */
function checkOverwrites(
  spec: { file: string; source: Block<SourceComponent>; stages: Block<StageComponent>[]; sink: Block<SinkComponent>; ledger?: string; after: Block<AfterComponent>[] },
  report: ProblemCollector,
): void {
  const inputs = [...pathOptions(spec.source, ['source'], 'input'), ...spec.stages.flatMap((stage, index) => pathOptions(stage, ['stages', index], 'input'))];
  const outputs = [
    ...pathOptions(spec.sink, ['sink'], 'output').map((output) => ({ ...output, what: 'the sink writes' })),
    ...spec.after.flatMap((step, index) => pathOptions(step, ['after', index], 'output')).map((output) => ({ ...output, what: 'an after: step writes' })),
  ];
  const { ledger } = spec;
  const written = ledger === undefined ? outputs : [...outputs, { where: ['ledger'], file: ledger, what: 'the ledger is' }];
  for (const output of written) {
    const input = inputs.find((candidate) => isSameFile(candidate.file, output.file));
    if (input) report.atPath(output.where, 'pipeline.overwrites_input', `${output.what} ${output.file}, which the pipeline reads (${input.where.join('.')}); it would be overwritten before it is read`);
    // A `${OUT}` set to the wrong name would replace the pipeline itself.
    if (isSameFile(spec.file, output.file)) report.atPath(output.where, 'pipeline.overwrites_input', `${output.what} ${output.file}, which is this pipeline file; name another file`);
  }
  // Nor may two outputs be one file: the one moved into place last would replace the other.
  outputs.forEach((output, index) => {
    const earlier = outputs.slice(0, index).find((candidate) => isSameFile(candidate.file, output.file));
    if (earlier) report.atPath(output.where, 'pipeline.overwrites_output', `${output.what} ${output.file}, which ${earlier.where.join('.')} names too; name another file`);
  });
  // Nor may a file written replace the ledger (or its WAL files).
  if (ledger === undefined) return;
  for (const output of outputs) {
    if (isLedgerFile(output.file, ledger)) report.atPath(output.where, 'pipeline.overwrites_ledger', `${output.what} ${output.file}, which is the ledger; name another file`);
  }
}

/** `{ path: ${OUT} }`: YAML reads `{` in `${` as the start of a map, which is the usual cause of a syntax error there. */
const FLOW_VARIABLE = /\{[^}]*\$\{/;
const FLOW_VARIABLE_HINT = ' (a ${VAR} inside { } must be quoted: "${VAR}")';

/** A pipeline file read, with every problem found in it and the spec when it has none. */
interface Examined {
  report: ProblemCollector;
  spec?: PipelineSpec;
  baseDir: string;
  /** The blocks valid on their own, or the sound options of a block that is not, and where each is in the file. */
  verifiable: Located[];
}

/** Reads and validates the pipeline file; throws at once only for problems no later one can be found past (YAML syntax). */
function examinePipeline(file: string, { env = process.env, sets = [] }: LoadOptions): Examined {
  const absoluteFile = path.resolve(file);
  if (!existsSync(absoluteFile)) throw new UsageError('pipeline.not_found', `pipeline file not found: ${file}`);
  if (statSync(absoluteFile).isDirectory()) throw new UsageError('pipeline.not_a_file', `pipeline file is a folder, not a file: ${file}`);
  const lines = new LineCounter();
  const text = readFileSync(absoluteFile, 'utf8');
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, prettyErrors: false });
  const report = new ProblemCollector(file, doc, lines);
  const textLines = doc.errors.length > 0 ? text.split('\n') : [];
  for (const error of doc.errors) {
    const lineText = textLines[lines.linePos(error.pos[0]).line - 1] ?? '';
    report.at(error.pos[0], 'pipeline.yaml_syntax', `${error.message.split('\n')[0]}${FLOW_VARIABLE.test(lineText) ? FLOW_VARIABLE_HINT : ''}`);
  }
  if (report.problems.length > 0) throw report.error();

  for (const assignment of sets) {
    const { where, value } = parseSet(assignment);
    checkSetIndexes(doc, where);
    doc.setIn(where, value);
    report.setBy(where, assignment);
  }
  interpolateScalars(doc, env, report);

  const js: unknown = doc.toJS();
  const top = safeParseTyped(pipelineShape, js);
  if (!top.success) {
    for (const issue of top.error.issues) {
      const where = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          report.atKey(where, key, 'pipeline.unknown_key', `unknown key "${key}"${didYouMean(key, Object.keys(pipelineShape.shape))}`);
        }
      } else {
        report.atPath(where, 'pipeline.invalid', `${where.join('.') || 'pipeline'}: ${issueText(issue)}`);
      }
    }
  }
  // The blocks are checked even when the top level is wrong (an unknown key, a missing `name`): every problem is
  // reported at once.
  const parts = blockParts.safeParse(js);
  if (!parts.success) throw report.error();
  const baseDir = path.dirname(absoluteFile);
  const verifiable: Located[] = [];
  const blockOf = <K extends ComponentKind>(kind: K, raw: Record<string, unknown> | undefined, where: PathSegment[]) =>
    raw === undefined ? undefined : validateBlock(kind, raw, where, baseDir, report, verifiable);
  const source = blockOf('source', parts.data.source, ['source']);
  const stages = (parts.data.stages ?? []).map((stage, index) => blockOf('stage', stage, ['stages', index]));
  const sink = blockOf('sink', parts.data.sink, ['sink']);
  const after = (parts.data.after ?? []).map((step, index) => blockOf('after', step, ['after', index]));
  if (!top.success) return { report, baseDir, verifiable };
  const spec = top.data;
  const ledger = spec.ledger === undefined ? undefined : path.resolve(report.isSet(['ledger']) ? process.cwd() : baseDir, spec.ledger);
  after.forEach((step, index) => {
    const problem = step && sink ? step.component.problem?.(sink, ledger) : undefined;
    if (problem !== undefined) report.atPath(['after', index, 'use'], 'pipeline.after_misplaced', problem);
  });
  const validStages = stages.filter((stage): stage is Block<StageComponent> => stage !== undefined);
  const validAfter = after.filter((step): step is Block<AfterComponent> => step !== undefined);
  if (source && sink && validStages.length === stages.length) checkOverwrites({ file: absoluteFile, source, stages: validStages, sink, ledger, after: validAfter }, report);
  const complete = source && sink && validStages.length === stages.length && validAfter.length === after.length;
  const found = complete ? { file: absoluteFile, baseDir, name: spec.name, source, stages: validStages, sink, ledger, after: validAfter } : undefined;
  return { report, spec: found, baseDir, verifiable };
}

export function loadPipeline(file: string, options: LoadOptions = {}): PipelineSpec {
  const { report, spec } = examinePipeline(file, options);
  if (report.problems.length > 0 || spec === undefined) throw report.error();
  return spec;
}

/**
 * loadPipeline, and what the valid blocks name beyond the file (mapping files) read as a run would read them, each
 * problem there reported at the option that names it among the file's own problems: `check` passes where `run`
 * starts reading.
 */
export async function checkPipeline(file: string, options: LoadOptions, contextIn: (baseDir: string) => Context): Promise<void> {
  const { report, spec, baseDir, verifiable } = examinePipeline(file, options);
  const ctx = contextIn(baseDir);
  for (const { block, where } of verifiable) {
    // An option that named a missing file has said so: reading it again would say it twice.
    const fresh = ((await block.component.verify?.(block.options, ctx)) ?? []).filter((problem) => !report.hasProblemsWithin([...where, problem.option]));
    for (const problem of fresh) report.atPath([...where, problem.option], problem.code, problem.message);
  }
  if (report.problems.length > 0 || spec === undefined) throw report.error();
}

/** Validates flag values for a verb against the same schema as the YAML block; `positional` is the option given as an argument. */
export function validateVerbOptions(component: Component, given: Record<string, unknown>, baseDir: string, positional?: string): Record<string, unknown> {
  const parsed = component.options.strict().safeParse(given);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const flag = key ? `--${flagName(key)}` : component.name;
      return `${flag}: ${issue.message}`;
    });
    throw new UsageError('cli.invalid_option', messages.join('\n'));
  }
  return resolvePaths(component, parsed.data, () => baseDir, (key, at, problem, role) => {
    const what = key === positional ? `${role} ` : `--${flagName(key)}: `;
    throw new UsageError(`cli.${PATH_PROBLEM_CODES[problem]}`, `${what}${problem}: ${at}`);
  });
}
