// The authpipe CLI: parses flags and hands over to the engine in pipelines/.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify';
import type { Component, SinkComponent } from './pipelines/component.ts';
import { ReportedFailure, UsageError, failureReport } from './pipelines/errors.ts';
import { createContext, execute, failureOf, type AfterFindings, type RunFlags } from './pipelines/execute.ts';
import { failureJson } from './pipelines/summary.ts';
import { addComponentFlags, componentOptionsFrom } from './pipelines/flags.ts';
import { checkPipeline, isLedgerFile, loadPipeline, validateVerbOptions } from './pipelines/load.ts';
import { parseBudget } from './pipelines/rate.ts';
import { registry } from './pipelines/registry.ts';
import { envelopeTransport } from './pipelines/transport.ts';
import { spreadsheetSafe } from './sinks/spreadsheet-safe.ts';
import { runDiff } from './sinks/diff.ts';
import { workosSink, type WorkosOptions } from './sinks/workos.ts';
import { hasDifferences } from './sinks/workos/diff.ts';
import { ledgerSource } from './sources/ledger.ts';
import { ERROR_CLASSES, ROW_STATES } from './state/schema.ts';
import { openLedger, type ErrorClass, type LedgerRow, type RowState } from './state/ledger.ts';
import { REPLAY_CLASSES, type ReplayClass } from './state/replay.ts';
import { ID_MAP_COLUMNS, idMapRecord, rowRecord, statusText } from './state/report.ts';
import packageJson from './package.json' with { type: 'json' };

const stdinEnvelopes = { component: registry.source.ndjson, options: { path: '-' } };

function withOutputFlags(command: Command): Command {
  return command.option('--quiet', 'print nothing on stderr but warnings and errors').option('--json', 'print the end-of-run summary as JSON on stderr, where only warnings and errors come before it');
}

function verbOptions(command: Command, component: Component, positional?: string, positionalValue?: string) {
  return validateVerbOptions(component, componentOptionsFrom(command, component, positionalValue, positional), process.cwd(), positional);
}

/**
 * The options a sink verb was given, over the sink settings the ledger's last run recorded (base URL, rates,
 * concurrency), so `replay` and `write --ledger` reach the same server the same way. Never the API key.
 */
function withRecordedSettings(sink: SinkComponent, given: Record<string, unknown>, ledgerPath: string | undefined): Record<string, unknown> {
  if (ledgerPath === undefined || !existsSync(ledgerPath)) return given;
  const ledger = openLedger(ledgerPath, { readonly: true });
  try {
    const recorded = ledger.lastSinkSettings();
    if (recorded?.sink !== sink.name) return given;
    const fromEnvironment = process.env.WORKOS_API_URL?.trim();
    if (given.baseUrl === undefined && fromEnvironment !== undefined && fromEnvironment !== recorded.baseUrl) {
      // The environment names another server than the one the ledger's runs wrote to, which is the one used.
      process.stderr.write(`warning: WORKOS_API_URL is ${fromEnvironment || '(empty: api.workos.com)'}, but the ledger's last run wrote to ${recorded.baseUrl || 'api.workos.com'}, which is used; pass --base-url to use another\n`);
    }
    const reused = Object.entries(recorded).filter(([key]) => key in sink.options.shape);
    return { ...Object.fromEntries(reused), ...given };
  } finally {
    ledger.close();
  }
}

/** Opens an existing ledger for reading; it may be in use by a running import. */
function readLedger(file: string) {
  return openLedger(path.resolve(file), { readonly: true });
}

/** Prints each record as one JSON line, at the pace stdout takes them. */
async function printJsonLines<T>(records: Iterable<T>, toJson: (record: T) => unknown): Promise<void> {
  function* lines() {
    for (const record of records) yield `${JSON.stringify(toJson(record))}\n`;
  }
  await pipeline(Readable.from(lines()), process.stdout, { end: false });
}

function portNumber(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}

const program = new Command('authpipe')
  .description('Streaming, exactly-once user migration into WorkOS')
  .version(packageJson.version)
  .showHelpAfterError()
  .exitOverride();

type FileFlags = RunFlags & { set: string[] };

async function runFile(file: string, flags: FileFlags): Promise<number> {
  const spec = loadPipeline(file, { sets: flags.set });
  return execute({
    name: spec.name,
    flags: { ...flags, ledger: flags.ledger ?? spec.ledger },
    baseDir: spec.baseDir,
    verb: false,
    resumedBy: 'command',
    build: async (ctx) => ({
      source: spec.source,
      stages: spec.stages,
      writer: await spec.sink.component.create(spec.sink.options, ctx),
      after:
        spec.after.length === 0
          ? undefined
          : async () => {
              const findings: AfterFindings = { short: false, counts: {} };
              for (const step of spec.after) {
                const { short, counts } = await step.component.run(step.options, ctx, spec.sink);
                findings.short ||= short;
                findings.counts[step.component.name] = counts;
              }
              return findings;
            },
    }),
  });
}

/** `--set`, repeatable: `run`, `plan` and `check` take the same overrides, so a command line can be checked as it will run. */
function withSetFlag(command: Command): Command {
  return command.option('--set <path=value>', 'override a value of the pipeline file, e.g. sink.rate=100/10s', (value: string, all: string[]) => [...all, value], []);
}

function withFileFlags(command: Command): Command {
  return withSetFlag(withOutputFlags(command).argument('<pipeline>', 'pipeline YAML file').option('--ledger <path>', 'ledger file (overrides the pipeline file)'));
}

withFileFlags(program.command('run'))
  .description('run a pipeline file')
  .option('--dry-run', 'go through every stage and plan the writes without sending any')
  .option('--live', 'allow a sk_live_ key')
  .action(async (file: string, flags: FileFlags) => {
    process.exitCode = await runFile(file, flags);
  });

withFileFlags(program.command('plan'))
  .description('read the input and count rows, invalid rows, the API calls needed and the time they take at the configured rate (run --dry-run)')
  .action(async (file: string, flags: FileFlags) => {
    process.exitCode = await runFile(file, { ...flags, dryRun: true });
  });

withSetFlag(program.command('check'))
  .description('validate a pipeline file; print every problem as file:line:col')
  .argument('<pipeline>', 'pipeline YAML file')
  .action(async (file: string, flags: { set: string[] }) => {
    await checkPipeline(file, { sets: flags.set }, (baseDir) => createContext({ quiet: true }, baseDir, new AbortController().signal));
    process.stderr.write(`${file}: ok\n`);
  });

const read = program.command('read').description('read a source and print NDJSON envelopes on stdout');
for (const source of Object.values(registry.source)) {
  // A source whose path has a default reads stdin without one; a ledger has to be named.
  const readsStdin = source.options.shape.path?.safeParse(undefined).success === true;
  const command = withOutputFlags(read.command(source.name).description(source.summary));
  if (readsStdin) command.argument('[input]', 'file to read, - for stdin', '-');
  else command.argument('<input>', source.options.shape.path?.description ?? 'file to read');
  addComponentFlags(command, source, 'path').action(async (input: string, flags: RunFlags) => {
    const options = verbOptions(command, source, 'path', input);
    process.exitCode = await execute({
      name: `read ${source.name}`,
      flags,
      baseDir: process.cwd(),
      verb: true,
      build: async () => ({ source: { component: source, options }, stages: [], writer: envelopeTransport(process.stdout) }),
    });
  });
}

for (const stage of Object.values(registry.stage)) {
  const command = withOutputFlags(program.command(stage.name).description(`${stage.summary} (NDJSON stdin -> stdout)`));
  addComponentFlags(command, stage).action(async (flags: RunFlags) => {
    const options = verbOptions(command, stage);
    process.exitCode = await execute({
      name: stage.name,
      flags,
      baseDir: process.cwd(),
      verb: true,
      build: async () => ({ source: stdinEnvelopes, stages: [{ component: stage, options }], writer: envelopeTransport(process.stdout) }),
    });
  });
}

const write = program.command('write').description('write NDJSON envelopes from stdin to a sink');
for (const sink of Object.values(registry.sink)) {
  const takesPath = 'path' in sink.options.shape;
  const command = withOutputFlags(write.command(sink.name).description(sink.summary));
  if (takesPath) command.argument('[output]', 'file to write, - for stdout', '-');
  // The sink's own `live` option gives the verb its --live flag.
  else command.option('--ledger <path>', "ledger file; the base URL, rates and other settings default to those its last run recorded").option('--dry-run', 'plan the writes without sending any');
  addComponentFlags(command, sink, takesPath ? 'path' : undefined).action(async (...args: unknown[]) => {
    const output = takesPath ? (args[0] as string) : undefined;
    const flags = (takesPath ? args[1] : args[0]) as RunFlags;
    const given = componentOptionsFrom(command, sink, output, takesPath ? 'path' : undefined);
    const options = validateVerbOptions(sink, withRecordedSettings(sink, given, flags.ledger), process.cwd(), takesPath ? 'path' : undefined);
    process.exitCode = await execute({
      name: `write ${sink.name}`,
      flags,
      baseDir: process.cwd(),
      verb: takesPath,
      endsChain: takesPath,
      resumedBy: takesPath ? undefined : 'chain',
      build: async (ctx) => ({ source: stdinEnvelopes, stages: [], writer: await sink.create(options, ctx) }),
    });
  });
}

const replay = withOutputFlags(program.command('replay'))
  .description("send a ledger's failed rows again from their stored payloads, or --export them for fixing; the base URL, rates, concurrency, retries, timeout and TOTP issuer are those the ledger's last run recorded unless a flag says otherwise")
  .requiredOption('--ledger <path>', 'ledger file')
  .addOption(new Option('--class <class>', 'rows to take: failed in WorkOS (retryable, with rows an interrupted run left in flight; permanent), kept out by validation (invalid), or all').choices(REPLAY_CLASSES).default('retryable'))
  .option('--export', 'print the rows as NDJSON envelopes with what went wrong attached (no password hashes); `authpipe write workos --ledger` takes them back')
  .option('--dry-run', 'plan the writes without sending any');
// The workos sink's flags (its `live` gives --live) override the settings the ledger recorded, e.g. another --base-url.
addComponentFlags(replay, workosSink).action(async (flags: RunFlags & { ledger: string; class: ReplayClass; export?: boolean }) => {
    // The sink would create a missing ledger, and a mistyped path would pass for a ledger with nothing to replay.
    if (!existsSync(flags.ledger)) throw new UsageError('ledger.missing', `ledger ${flags.ledger} does not exist`);
    // Rows sent again carry no findings of the attempt before: the ledger holds those, and this run has its own.
    const source = { component: ledgerSource, options: { path: path.resolve(flags.ledger), class: flags.class, resend: flags.export !== true } };
    process.exitCode = await execute({
      name: flags.export ? 'replay --export' : 'replay',
      flags,
      baseDir: process.cwd(),
      verb: flags.export === true,
      resumedBy: 'command',
      build: async (ctx) => {
        if (flags.export) return { source, stages: [], writer: envelopeTransport(process.stdout) };
        const sink: SinkComponent = workosSink;
        const options = validateVerbOptions(sink, withRecordedSettings(sink, componentOptionsFrom(replay, sink), flags.ledger), process.cwd());
        return { source, stages: [], writer: await sink.create(options, ctx) };
      },
    });
  });

program
  .command('diff')
  .description("prove an import landed: every user of the ledger looked for in WorkOS and compared with what was sent, with its memberships and TOTP factors; exit 3 on any difference")
  .requiredOption('--ledger <path>', 'ledger file')
  .option('--report <path>', 'NDJSON file listing every difference (- for stdout); default: the summary alone')
  .option('--base-url <url>', "WorkOS API base URL; default: the one the ledger's last run wrote to")
  .option('--read-rate <budget>', "read budget, e.g. 1000/10s; default: the ledger's last run's")
  .option('--quiet', 'print nothing on stderr but warnings and errors')
  .option('--json', 'print the counts as JSON on stderr')
  .action(async (flags: { ledger: string; report?: string; baseUrl?: string; readRate?: string; quiet?: boolean; json?: boolean }) => {
    if (!existsSync(flags.ledger)) throw new UsageError('ledger.missing', `ledger ${flags.ledger} does not exist`);
    const given = Object.fromEntries(Object.entries({ baseUrl: flags.baseUrl, readRate: flags.readRate }).filter(([, value]) => value !== undefined));
    const connection = validateVerbOptions(workosSink, withRecordedSettings(workosSink, given, flags.ledger), process.cwd()) as WorkosOptions;
    if (connection.baseUrl === 'embedded') {
      throw new UsageError(
        'diff.embedded',
        "the ledger's runs wrote to the embedded emulator, which is gone with its run: there is nothing to compare. To prove a run against it, put `after: [{ use: diff }]` in the pipeline file",
      );
    }
    checkReportPath(flags.report, flags.ledger);
    // Ctrl-C stops the reading; what was found so far is recorded, and the verb says so.
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    const ctx = createContext({ quiet: flags.quiet === true || flags.json === true }, process.cwd(), controller.signal);
    const counts = await runDiff(path.resolve(flags.ledger), connection, flags.report, ctx);
    const exitCode = counts.interrupted ? 130 : hasDifferences(counts) ? 3 : 0;
    if (flags.json) process.stderr.write(`${JSON.stringify({ ...counts, exitCode })}\n`);
    process.exitCode = exitCode;
  });

/** A report must not replace the ledger it reports on (nor its WAL files), and needs a folder to go into. */
function checkReportPath(report: string | undefined, ledger: string): void {
  if (report === undefined || report === '-') return;
  const target = path.resolve(report);
  if (isLedgerFile(target, path.resolve(ledger))) {
    throw new UsageError('diff.report_is_ledger', `--report ${report} is the ledger itself: name another file`);
  }
  if (!existsSync(path.dirname(target))) throw new UsageError('cli.folder_not_found', `--report: folder not found: ${path.dirname(target)}`);
}

const ledgerVerb = program.command('ledger').description('look into a ledger: counts, rows, and the map from source users to WorkOS ids');

ledgerVerb
  .command('status')
  .description('rows by state, failed and invalid rows by class and code, organizations, memberships, factors')
  .requiredOption('--ledger <path>', 'ledger file')
  .option('--json', 'print the counts as JSON')
  .action((flags: { ledger: string; json?: boolean }) => {
    const ledger = readLedger(flags.ledger);
    try {
      const status = ledger.status();
      process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : statusText(flags.ledger, status, ledger.activeWriter()));
    } finally {
      ledger.close();
    }
  });

ledgerVerb
  .command('rows')
  .description('print rows as NDJSON: origin, state, attempts, WorkOS id, error and issues (never the payload)')
  .requiredOption('--ledger <path>', 'ledger file')
  .option('--state <states>', `only these states, comma-separated: ${ROW_STATES.join(', ')}`, (value: string) => value.split(',').map((state) => state.trim()))
  .addOption(new Option('--class <class>', 'only rows failed or invalid with this class').choices(ERROR_CLASSES))
  .action(async (flags: { ledger: string; state?: string[]; class?: ErrorClass }) => {
    const unknown = flags.state?.filter((state) => !(ROW_STATES as readonly string[]).includes(state)) ?? [];
    if (unknown.length > 0) throw new UsageError('cli.invalid_option', `--state: unknown state ${unknown.join(', ')}; expected ${ROW_STATES.join(', ')}`);
    const ledger = readLedger(flags.ledger);
    try {
      const rows = ledger.rows({ states: flags.state as RowState[] | undefined, errorClass: flags.class });
      await printJsonLines(rows, rowRecord);
    } finally {
      ledger.close();
    }
  });

ledgerVerb
  .command('export')
  .description('print the map from each source user to its WorkOS user id (key, email, external_id, workos_user_id, state)')
  .requiredOption('--ledger <path>', 'ledger file')
  .addOption(new Option('--format <format>', 'output format').choices(['csv', 'ndjson']).default('csv'))
  .action(async (flags: { ledger: string; format: 'csv' | 'ndjson' }) => {
    const ledger = readLedger(flags.ledger);
    try {
      if (flags.format === 'ndjson') {
        await printJsonLines(ledger.rows(), idMapRecord);
      } else {
        // Emails and ids come from the source export: a cell starting with `=` must not run in a spreadsheet.
        const safe = (row: LedgerRow) => Object.fromEntries(Object.entries(idMapRecord(row)).map(([column, value]) => [column, spreadsheetSafe(value)]));
        const records = Readable.from(ledger.rows()).map(safe);
        await pipeline(records, stringify({ header: true, columns: [...ID_MAP_COLUMNS] }), process.stdout, { end: false });
      }
    } finally {
      ledger.close();
    }
  });

program
  .command('emulator')
  .description('run the local WorkOS API emulator (for trying pipelines without an account)')
  .addOption(new Option('--port <n>', 'port to listen on (0: any free one)').default(8787).argParser(portNumber))
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--rate <budget>', 'write budget per API key, e.g. 500/10s, or "none"', '500/10s')
  .option('--read-rate <budget>', 'read budget per API key, or "none"', '1000/10s')
  .option('--faults <spec>', 'faults to inject, e.g. status=503:0.05,latency=20-80,storm=429x40:retry=2')
  .option('--single-role', 'answer role_slugs with several roles as an environment without multiple roles does')
  .action(async (flags: { port: number; host: string; rate: string; readRate: string; faults?: string; singleRole?: boolean }) => {
    const { startWorkosEmulator } = await import('./emulators/workos/server.ts');
    const emulator = await startWorkosEmulator({
      port: flags.port,
      host: flags.host,
      writes: parseBudget(flags.rate),
      reads: parseBudget(flags.readRate),
      faults: flags.faults,
      multipleRoles: !flags.singleRole,
      record: false,
    });
    process.stderr.write(`WorkOS emulator listening on ${emulator.url} (writes ${flags.rate}, reads ${flags.readRate}); Ctrl-C stops it\n`);
    process.stderr.write(`  export WORKOS_API_URL=${emulator.url} WORKOS_API_KEY=sk_test_local\n`);
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    await emulator.close();
  });

// A reader that closes the pipe early (`| head`) is not an error; a full disk or a closed descriptor is, said plainly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`authpipe: cannot write to stdout (${error.code ?? error.message})\n`);
  process.exit(1);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportFailure(error);
}

function reportFailure(error: unknown): number {
  if (error instanceof ReportedFailure) return error.exitCode;
  const { text, exitCode } = failureReport(error);
  process.stderr.write(text);
  // A script reading --json gets the failure on the last line also when the command stopped before its run began (a
  // pipeline file with problems, a missing input or ledger, a flag commander refused after its usage text).
  if (process.argv.includes('--json') && exitCode !== 0) process.stderr.write(failureJson(failureOf(error, exitCode)));
  return exitCode;
}
