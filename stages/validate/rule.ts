// What every validate rule is, and how its findings land on the envelope.
import type { Context } from '../../pipelines/component.ts';
import { describeOrigin, type Envelope, type IssueLevel } from '../../pipelines/record.ts';

/** One run of a rule: `check` appends its findings to each envelope; `close` frees what the run holds. */
export interface RuleRun {
  check(envelope: Envelope): void;
  close?(): void;
}

export interface ValidationRule {
  name: string;
  /** Called once per stream, when the first record is pulled, so an unread stream holds nothing. */
  start(ctx: Context): RuleRun;
}

export function addIssue(envelope: Envelope, level: IssueLevel, code: string, field: string, message: string): void {
  envelope.issues.push({ stage: 'validate', code, level, message: `${describeOrigin(envelope.origin)}: ${message}`, field });
}

export function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 127) return false;
  }
  return true;
}
