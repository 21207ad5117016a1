// Errors a user can cause carry a stable code; the CLI prints their message, never a stack trace.

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
