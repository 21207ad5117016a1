// Password hashes: a hash needs a type WorkOS accepts, and must have that type's layout (workos-api.md §9,
// test-vectors.md §1 and §4). Messages name the type and the expected layout, never the hash.
import { PASSWORD_HASH_TYPES, type Envelope, type PasswordHashType } from '../../pipelines/record.ts';
import { isPasswordHashType, quoteHashName } from '../mapping.ts';
import { addIssue, type ValidationRule } from './rule.ts';
import { SECRET_IN_LEDGER } from '../../state/replay.ts';

// Standard base64 alphabet; PHC strings drop the padding, other layouts keep it, so both pass.
const B64 = '[A-Za-z0-9+/]+={0,2}';
const BASE64 = new RegExp(`^${B64}$`);
const BASE64_OR_EMPTY = new RegExp(`^(?:${B64})?$`);
const DIGITS = /^\d+$/;

const BCRYPT = /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const ARGON2 = new RegExp(`^\\$argon2(?:id|i|d)\\$v=19\\$m=\\d+,t=\\d+,p=\\d+\\$${B64}\\$${B64}$`);
const SCRYPT = new RegExp(`^\\$scrypt\\$ln=\\d+,r=\\d+,p=\\d+\\$${B64}\\$${B64}$`);
const PBKDF2 = new RegExp(`^\\$pbkdf2-sha(?:1|256|512)\\$i=\\d+(?:,l=\\d+)?\\$${B64}\\$${B64}$`);

/** Parameter name -> value pattern; a layout matches when every name appears once, in any order, and nothing else. */
type Assignments = Record<string, RegExp>;

const FIREBASE_PHC_PARAMS: Assignments = { r: DIGITS, m: DIGITS, ss: BASE64_OR_EMPTY, sk: BASE64 };
const FIREBASE_TOOL_FIELDS: Assignments = { hash: BASE64, salt: BASE64, sk: BASE64, ss: BASE64_OR_EMPTY, r: DIGITS, m: DIGITS };

function assignsExactly(assignments: string[], expected: Assignments): boolean {
  if (assignments.length !== Object.keys(expected).length) return false;
  const seen = new Set<string>();
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    const name = assignment.slice(0, equals);
    const pattern = equals > 0 && Object.hasOwn(expected, name) ? expected[name] : undefined;
    if (pattern === undefined || seen.has(name) || !pattern.test(assignment.slice(equals + 1))) return false;
    seen.add(name);
  }
  return true;
}

/**
 * The documented PHC form `$firebase-scrypt$v=1$r=..,m=..,ss=..,sk=..$salt$hash` (test-vectors §1a), or the layout
 * of WorkOS's migration tool `$firebase-scrypt$hash=..$salt=..$sk=..$ss=..$r=..$m=..` (§1b), whose acceptance by
 * the live API is as unconfirmed as the first's.
 */
function isFirebaseScrypt(hash: string): boolean {
  const parts = hash.split('$');
  if (parts[0] !== '' || parts[1] !== 'firebase-scrypt') return false;
  if (parts.length === 6) {
    return parts[2] === 'v=1' && assignsExactly(parts[3].split(','), FIREBASE_PHC_PARAMS) && BASE64.test(parts[4]) && BASE64.test(parts[5]);
  }
  return assignsExactly(parts.slice(2), FIREBASE_TOOL_FIELDS);
}

interface HashFormat {
  matches(hash: string): boolean;
  /** For the message: what a hash of this type looks like. */
  layout: string;
  /** No public example of what WorkOS expects: a mismatch is a warning, and the hash is sent as is. */
  unconfirmed?: true;
}

const FORMATS: Record<PasswordHashType, HashFormat> = {
  bcrypt: { matches: (hash) => BCRYPT.test(hash), layout: '$2a$, $2b$, $2x$ or $2y$, a two-digit cost, $ and 53 characters of ./A-Za-z0-9' },
  'firebase-scrypt': {
    matches: isFirebaseScrypt,
    layout: '$firebase-scrypt$v=1$r=<rounds>,m=<mem_cost>,ss=<separator>,sk=<signer key>$<salt>$<hash>, all base64',
  },
  argon2: { matches: (hash) => ARGON2.test(hash), layout: '$argon2id$v=19$m=<KiB>,t=<iterations>,p=<parallelism>$<salt>$<hash> (or argon2i, argon2d)' },
  scrypt: { matches: (hash) => SCRYPT.test(hash), layout: '$scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>' },
  pbkdf2: { matches: (hash) => PBKDF2.test(hash), layout: '$pbkdf2-sha256$i=<iterations>[,l=<length>]$<salt>$<hash> (or sha1, sha512)' },
  ssha: { matches: (hash) => BASE64.test(hash), layout: 'base64', unconfirmed: true },
  ssha256: { matches: (hash) => BASE64.test(hash), layout: 'base64', unconfirmed: true },
};

/** Whether the hash has the layout WorkOS takes for its type (for a preset, which drops one that has not). */
export function hasHashLayout(type: PasswordHashType, hash: string): boolean {
  return FORMATS[type].matches(hash);
}

function checkHash(envelope: Envelope): void {
  const { passwordHash } = envelope.user;
  // Typed as a known type, but an NDJSON envelope from another tool can carry any string here.
  const type: string | undefined = envelope.user.passwordHashType;
  // An exported row's hash stays in the ledger, which checked it when the row was first written.
  if (passwordHash === SECRET_IN_LEDGER) return;
  if (passwordHash === undefined || passwordHash === '') {
    if (type !== undefined) {
      addIssue(envelope, 'error', 'hash.missing', 'passwordHash', `the hash type ${quoteHashName(type)} is set but no password hash is given`);
    }
    return;
  }
  if (type === undefined) {
    addIssue(envelope, 'error', 'hash.type_missing', 'passwordHashType', 'a password hash is given without its type (passwordHashType)');
    return;
  }
  if (!isPasswordHashType(type)) {
    const message = `WorkOS does not accept ${quoteHashName(type)} as a hash type; it takes ${PASSWORD_HASH_TYPES.join(', ')}`;
    addIssue(envelope, 'error', 'hash.type_unsupported', 'passwordHashType', message);
    return;
  }
  const format = FORMATS[type];
  if (format.matches(passwordHash)) return;
  if (format.unconfirmed) {
    const message = `the ${type} password hash is not ${format.layout}; WorkOS's ${type} format is unconfirmed, so it is sent as is`;
    addIssue(envelope, 'warning', 'hash.unverified_format', 'passwordHash', message);
  } else {
    const message = `the password hash does not have the ${type} layout: ${format.layout}`;
    addIssue(envelope, 'error', 'hash.format_mismatch', 'passwordHash', message);
  }
}

export const hashRule: ValidationRule = {
  name: 'hash',
  start: () => ({ check: checkHash }),
};
