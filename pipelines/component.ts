// The component contract: one file per source, stage or sink, exporting `{ name, summary, options, create }`.
// `options` is the single source of truth: it validates the YAML block and derives the CLI verb's flags.
import { z } from 'zod';
import type { OptionError } from './errors.ts';
import type { Envelope } from './record.ts';
import type { Logger } from './log.ts';

export interface Context {
  /** Relative paths in options are resolved against this folder (the pipeline file's, or the cwd). */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: sources stop reading, sinks finish or record what is in flight. */
  signal: AbortSignal;
  /**
   * Aborted by the engine when the source or a stage fails partway: the sink's input ends there, short of the
   * input's end, and a file sink keeps the file it would have replaced.
   */
  incomplete: AbortController;
  /** Go through every stage and the writer's planning without a single write. */
  dryRun: boolean;
  /** A `sk_live_` key is refused unless this is set. */
  live: boolean;
  /** Ledger file of the run, when the pipeline or the verb names one. */
  ledgerPath?: string;
  /**
   * The run's one resource called `name` (the embedded WorkOS emulator, which the sink writes to and the `after:`
   * steps read from), opened by the first to ask and closed when the run ends.
   */
  shared<T extends Closable>(name: string, open: () => Promise<T>): Promise<T>;
  /** How far the run is, for the progress line: kept current by the source and a sink that writes slowly (WorkOS). */
  runProgress: RunProgress;
}

export interface RunProgress {
  written: number;
  failed: number;
  /** Rows the sink is done with, whatever became of them; unset for a sink that does not say. */
  finished?: number;
  /** Rows out of the last stage so far, given to the sink: fewer than those read when a stage joins rows. */
  passed?: number;
  /** The share of the source's input file read so far (0 to 1); unset for stdin. */
  inputShare?: () => number;
}

export interface Closable {
  close(): Promise<void>;
}

/** The shared resources of one run, and their closing at its end. */
export function sharedResources(): { shared: Context['shared']; closeAll(): Promise<void> } {
  const opened = new Map<string, Promise<Closable>>();
  return {
    shared: <T extends Closable>(name: string, open: () => Promise<T>) => {
      if (!opened.has(name)) opened.set(name, open());
      return opened.get(name) as Promise<T>;
    },
    async closeAll() {
      const resources = [...opened.values()];
      opened.clear();
      // One that failed to open has nothing to close; its failure was the run's.
      await Promise.all(resources.map((resource) => resource.then((held) => held.close(), () => undefined)));
    },
  };
}

export type Transform = (input: AsyncIterable<Envelope>) => AsyncIterable<Envelope>;

/** Counts a sink keeps beyond the run's own (the WorkOS writer's by outcome, its plan's by call), for --json. */
export type SinkDetails = Record<string, number | Record<string, number>>;

export interface SinkResult {
  written: number;
  /** Valid rows the destination refused (the ledger holds why). */
  failed: number;
  /** Valid rows deliberately not sent, such as rows unchanged since the last run. Invalid rows are not counted here. */
  skipped: number;
  details?: SinkDetails;
}

export type SinkWriter = (input: AsyncIterable<Envelope>) => Promise<SinkResult>;

/** What a sink had written when it failed, kept with the error it failed with: the run's summary counts it. */
const resultsBeforeFailure = new WeakMap<object, SinkResult>();

/** `error`, marked with what the sink wrote before it; to be thrown on. */
export function failedAfterWriting(error: unknown, result: SinkResult): unknown {
  if (typeof error === 'object' && error !== null) resultsBeforeFailure.set(error, result);
  return error;
}

export function resultBeforeFailure(error: unknown): SinkResult | undefined {
  return typeof error === 'object' && error !== null ? resultsBeforeFailure.get(error) : undefined;
}

type Options = z.ZodObject;

interface ComponentBase<O extends Options> {
  name: string;
  summary: string;
  options: O;
  /**
   * Reads what the options name beyond the pipeline file (a mapping file's rows), with no other effect, and returns
   * every problem a run would stop at before its first row: `check` runs it.
   */
  verify?(options: z.output<O>, ctx: Context): Promise<OptionError[]>;
}

export interface SourceComponent<O extends Options = Options> extends ComponentBase<O> {
  kind: 'source';
  create(options: z.output<O>, ctx: Context): AsyncIterable<Envelope>;
}

export interface StageComponent<O extends Options = Options> extends ComponentBase<O> {
  kind: 'stage';
  create(options: z.output<O>, ctx: Context): Transform | Promise<Transform>;
}

export interface SinkComponent<O extends Options = Options> extends ComponentBase<O> {
  kind: 'sink';
  create(options: z.output<O>, ctx: Context): SinkWriter | Promise<SinkWriter>;
}

interface SinkBlock {
  component: SinkComponent;
  options: Record<string, unknown>;
}

/** A step of the pipeline file's `after:` list, run once the sink has written every row. */
export interface AfterComponent<O extends Options = Options> extends ComponentBase<O> {
  kind: 'after';
  /** Why the step cannot follow this sink and ledger (`check` reports it at the step), or undefined. */
  problem?(sink: SinkBlock, ledger: string | undefined): string | undefined;
  /** Takes the sink's block (which server, which key); resolves what it found (for --json), and whether that is short of what was asked (exit 3). */
  run(options: z.output<O>, ctx: Context, sink: SinkBlock): Promise<AfterOutcome>;
}

export interface AfterOutcome {
  short: boolean;
  counts: object;
}

export type Component = SourceComponent | StageComponent | SinkComponent | AfterComponent;

export function defineSource<O extends Options>(spec: Omit<SourceComponent<O>, 'kind'>): SourceComponent<O> {
  return { kind: 'source', ...spec };
}

export function defineStage<O extends Options>(spec: Omit<StageComponent<O>, 'kind'>): StageComponent<O> {
  return { kind: 'stage', ...spec };
}

export function defineSink<O extends Options>(spec: Omit<SinkComponent<O>, 'kind'>): SinkComponent<O> {
  return { kind: 'sink', ...spec };
}

export function defineAfter<O extends Options>(spec: Omit<AfterComponent<O>, 'kind'>): AfterComponent<O> {
  return { kind: 'after', ...spec };
}

/**
 * A file the component reads. `-` means stdin. The engine checks that it exists (reporting
 * `file:line:col` in the pipeline file) and resolves it against `Context.baseDir` before `create`.
 */
export function inputPath() {
  return z.string().min(1).meta({ pathRole: 'input' });
}

/** A secret such as an API key: never a command-line flag (see OptionField.secret). */
export function secretText() {
  return z.string().min(1).meta({ secret: true });
}

/** A file the component writes. `-` means stdout. Resolved against `Context.baseDir` before `create`. */
export function outputPath() {
  return z.string().min(1).meta({ pathRole: 'output' });
}
