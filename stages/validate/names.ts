// First and last names as people typed them: control characters (a NUL, an escape sequence, a bell) come from broken
// exports or encodings, not from anyone's name, and would reach WorkOS and every screen that shows the user.
import type { Envelope } from '../../pipelines/record.ts';
import { addIssue, type ValidationRule } from './rule.ts';

// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

const NAME_FIELDS = [
  ['firstName', 'first name'],
  ['lastName', 'last name'],
] as const;

function checkNames(envelope: Envelope): void {
  for (const [field, label] of NAME_FIELDS) {
    const name = envelope.user[field];
    if (name !== undefined && CONTROL_CHARACTER.test(name)) {
      addIssue(envelope, 'warning', 'name.control_characters', field, `the ${label} holds control characters (${JSON.stringify(name)}); it is written as it is`);
    }
  }
}

export const namesRule: ValidationRule = {
  name: 'names',
  start: () => ({ check: checkNames }),
};
