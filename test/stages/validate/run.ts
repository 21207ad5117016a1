// What the validate rule tests share: envelopes as the map stage leaves them, run through the real stage.
import type { Context } from '../../../pipelines/component.ts';
import { keyOf, type Envelope, type Issue, type UserDraft } from '../../../pipelines/record.ts';
import { validateStage } from '../../../stages/validate.ts';
import { collect, contextIn, streamOf, tempDir } from '../../sources/context.ts';

/** A mapped row of users.csv: line 1 is the header, so row n sits on line n + 1. */
export function envelopeOf(user: UserDraft, line = 2, issues: Issue[] = []): Envelope {
  const seq = line - 1;
  return { seq, key: keyOf(user, seq), origin: { file: 'users.csv', line }, user, issues };
}

export function validator(rules: string[], ctx: Context = contextIn(tempDir())) {
  return validateStage.create(validateStage.options.parse({ rules }), ctx);
}

export async function validate(rules: string[], users: UserDraft[]): Promise<Envelope[]> {
  const transform = await validator(rules);
  return collect(transform(streamOf(users.map((user, index) => envelopeOf(user, index + 2)))));
}

/** `level code` per issue, the part of a finding that tests compare exactly. */
export function findings(envelope: Envelope): string[] {
  return envelope.issues.map((issue) => `${issue.level} ${issue.code}`);
}
