// Email syntax: the practical subset of RFC 5321/5322 that mail systems deliver to, plus internationalized
// (RFC 6531) letters, which pass with a warning because WorkOS's acceptance of them is unconfirmed.
import type { Envelope } from '../../pipelines/record.ts';
import { addIssue, isAscii, type ValidationRule } from './rule.ts';

const MAX_ADDRESS = 254;
const MAX_LOCAL_PART = 64;

// Letters of any script with their combining marks, and digits: ASCII or internationalized (RFC 6531).
const ALPHANUMERIC = '\\p{L}\\p{M}\\p{Nd}';
const ATEXT = `[${ALPHANUMERIC}!#$%&'*+/=?^_\`{|}~-]`;
const DOT_ATOM = `${ATEXT}+(?:\\.${ATEXT}+)*`;
// Printable ASCII but `"` and `\`, with backslash pairs; space is allowed inside quotes, tabs and newlines are not.
const QUOTED_STRING = `"(?:[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E${ALPHANUMERIC}]|\\\\[\\x20-\\x7E])*"`;
const LABEL = `[${ALPHANUMERIC}](?:[${ALPHANUMERIC}-]{0,61}[${ALPHANUMERIC}])?`;
const TOP_LEVEL_DOMAIN = `(?:\\p{L}[\\p{L}\\p{M}]{1,62}|xn--[a-z0-9](?:[a-z0-9-]{0,57}[a-z0-9])?)`;
const DOMAIN = `(?:${LABEL}\\.)+${TOP_LEVEL_DOMAIN}`;

const LOCAL_PART_PATTERN = new RegExp(`^(?:${DOT_ATOM}|${QUOTED_STRING})$`, 'iu');
const DOMAIN_PATTERN = new RegExp(`^${DOMAIN}$`, 'iu');
const WHITESPACE = /\s/u;
const MISPLACED_DOT = /^\.|\.$|\.\./;

/** Why an address is invalid, in words a person can act on; undefined when it is valid. */
function invalidReason(email: string): string | undefined {
  if (email.length > MAX_ADDRESS) return `it is longer than ${MAX_ADDRESS} characters`;
  // The last @ splits the address: a quoted local part may hold an @, a domain never does.
  const at = email.lastIndexOf('@');
  if (at === -1) return 'it has no @';
  const localPart = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (localPart === '') return 'nothing comes before the @';
  if (localPart.length > MAX_LOCAL_PART) return `more than ${MAX_LOCAL_PART} characters come before the @`;
  if (!LOCAL_PART_PATTERN.test(localPart)) {
    if (WHITESPACE.test(localPart)) return 'the part before the @ has whitespace (only spaces inside a quoted part are allowed)';
    if (MISPLACED_DOT.test(localPart)) return 'the part before the @ starts or ends with a dot, or has two dots in a row';
    return 'the part before the @ has a character that is only allowed inside quotes, such as @, a comma or a bracket';
  }
  if (domain === '') return 'nothing comes after the @';
  if (!DOMAIN_PATTERN.test(domain)) {
    return 'the domain is not a host name (labels of letters, digits and inner hyphens, joined by dots, ending in a top-level domain of 2+ letters)';
  }
  return undefined;
}

function checkEmail(envelope: Envelope): void {
  const email = envelope.user.email;
  if (email === undefined || email === '') {
    addIssue(envelope, 'error', 'email.missing', 'email', 'the user has no email address; WorkOS needs one for every user');
    return;
  }
  const reason = invalidReason(email);
  if (reason !== undefined) {
    addIssue(envelope, 'error', 'email.invalid', 'email', `email ${JSON.stringify(email)} is not a valid address: ${reason}`);
  } else if (!isAscii(email)) {
    addIssue(envelope, 'warning', 'email.unicode', 'email', `email ${JSON.stringify(email)} has non-ASCII characters, which WorkOS may not accept`);
  }
}

export const emailRule: ValidationRule = {
  name: 'email',
  start: () => ({ check: checkEmail }),
};
