// Errors a user can cause carry a stable code; the CLI prints their message, never a stack trace.
import { forPeople } from './log.ts';

/** A fatal problem the user can fix (missing file, unreadable document): exit 1 with its message. */
export class AuthpipeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AuthpipeError';
  }
}

/** A problem with the command line or the pipeline file, found before any row is read: exit 2. */
export class UsageError extends AuthpipeError {
  override name = 'UsageError';
}

/** A usage problem in what one option names (a mapping file): `check` reports it at that option in the pipeline file. */
export class OptionError extends UsageError {
  override name = 'OptionError';

  constructor(
    readonly option: string,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** One problem in a pipeline file, located for `file:line:col: message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}:${problem.col}: ${problem.message} [${problem.code}]`;
}

export class PipelineFileError extends Error {
  readonly code = 'pipeline.invalid';

  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PipelineFileError';
  }
}

/** A failure already said on stderr (before a --json summary, which must come last): only its exit code is left. */
export class ReportedFailure extends Error {
  constructor(readonly exitCode: number) {
    super('reported');
    this.name = 'ReportedFailure';
  }
}

/** What the CLI prints for a failure, and its exit code: 2 for usage, 1 for the rest. */
export function failureReport(error: unknown): { text: string; exitCode: number } {
  if (error instanceof PipelineFileError) return { text: error.problems.map((problem) => `${formatProblem(problem)}\n`).join(''), exitCode: 2 };
  if (error instanceof UsageError) return { text: `authpipe: ${forPeople(error.message)} [${error.code}]\n`, exitCode: 2 };
  if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
    // commander has already printed its usage message (or the help/version text, exit 0).
    return { text: '', exitCode: error.exitCode === 0 ? 0 : 2 };
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { text: `authpipe: ${forPeople(error.message)} [${error.code}]\n`, exitCode: 1 };
  // A library's message may quote what it was given: a row's hash, a request's key.
  return { text: `authpipe: internal error: ${forPeople(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`, exitCode: 1 };
}
