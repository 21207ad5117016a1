// Checks mapped users against what WorkOS accepts before any write is spent on them. Findings become issues on the
// envelope; rows with errors flow on (the engine and sinks keep them out of the sink and count them by code).
import { z } from 'zod';
import { defineStage } from '../pipelines/component.ts';
import { counted } from '../pipelines/log.ts';
import { hasErrors, type Issue } from '../pipelines/record.ts';
import { isNotValidated } from '../state/replay.ts';
import { duplicatesRule } from './validate/duplicates.ts';
import { emailRule } from './validate/email.ts';
import { hashRule } from './validate/hash.ts';
import { metadataLimitsRule } from './validate/metadata-limits.ts';
import { namesRule } from './validate/names.ts';
import { orgsRule } from './validate/orgs.ts';
import { totpRule } from './validate/totp.ts';
import type { RuleRun, ValidationRule } from './validate/rule.ts';

// Run order: duplicates last, so a row the other rules reject never claims an email or an external id.
const RULE_NAMES = ['email', 'names', 'hash', 'totp', 'metadata-limits', 'orgs', 'duplicates'] as const;
type RuleName = (typeof RULE_NAMES)[number];

const RULES: Record<RuleName, ValidationRule> = {
  email: emailRule,
  names: namesRule,
  hash: hashRule,
  totp: totpRule,
  'metadata-limits': metadataLimitsRule,
  orgs: orgsRule,
  duplicates: duplicatesRule,
};

const options = z.object({
  rules: z
    .array(z.enum(RULE_NAMES))
    .min(1, 'name at least one rule, or leave the validate stage out')
    .default([...RULE_NAMES])
    .describe(
      'Rules to apply (default all): email (present, valid syntax), names (no control characters: a warning), hash (type and layout), totp (a Base32 secret), metadata-limits (WorkOS ' +
        'metadata and external id limits), orgs (organization references and role slugs), duplicates (emails, ignoring ' +
        'case, and external ids seen earlier in the stream; the index lives in a temp folder under TMPDIR, about 150 bytes per row)',
    ),
});

/** Stages whose findings on an exported row this stage replaces: its own, the export's mark, WorkOS's last answer. */
const CHECKED_AGAIN = new Set(['validate', 'replay', 'workos']);

/** Its own findings it cannot make again on a row alone: the row it duplicates is not in the stream. */
const DUPLICATE_CODES = new Set(['email.duplicate', 'external_id.duplicate']);

/**
 * A finding validate cannot check again on an exported row: one of a stage before it (a value map could not read, two
 * people dedupe would not join, a row the source could not read), or a duplicate. It stays until a person who fixed
 * the row removes it.
 */
function isFindingNotCheckedAgain(issue: Issue): boolean {
  return !CHECKED_AGAIN.has(issue.stage) || DUPLICATE_CODES.has(issue.code);
}

export const validateStage = defineStage({
  name: 'validate',
  summary: 'Checks each user against WorkOS rules (email syntax, hash layout, metadata limits, org references, duplicates) and records what fails as issues.',
  options,
  create(options, ctx) {
    const rules = RULE_NAMES.filter((name) => options.rules.includes(name)).map((name) => RULES[name]);

    return async function* validateRecords(input) {
      const runs: RuleRun[] = [];
      /** Exported rows that still hold an error validate does not check again: nothing else tells the person why. */
      let keptOut = 0;
      try {
        for (const rule of rules) runs.push(rule.start(ctx));
        for await (const envelope of input) {
          // An exported row's own findings, and what WorkOS answered its last attempt, are checked afresh.
          if (isNotValidated(envelope)) {
            envelope.issues = envelope.issues.filter(isFindingNotCheckedAgain);
            if (hasErrors(envelope)) keptOut++;
          }
          // A row an earlier stage rejected is left as it is: checking what was never mapped only adds noise.
          if (!hasErrors(envelope)) {
            for (const run of runs) run.check(envelope);
          }
          yield envelope;
        }
        if (keptOut > 0) {
          ctx.log.warn(
            `validate: ${counted(keptOut, 'row exported for fixing still holds', 'rows exported for fixing still hold')} an error validate cannot check again (of a stage before it, or a duplicate): once a row is fixed, remove that issue from its "issues" too`,
          );
        }
      } finally {
        for (const run of runs) run.close?.();
      }
    };
  },
});
