// Structural checks of imported password hashes (workos-api.md §9, test-vectors.md §1 and §4). The
// emulator never verifies a password; it only refuses strings that could not be a hash of the declared
// type, as the live API answers 400 invalid_password_hash for them.

const PASSWORD_HASH_TYPES = ['bcrypt', 'firebase-scrypt', 'ssha', 'ssha256', 'scrypt', 'argon2', 'pbkdf2'] as const;
export type PasswordHashType = (typeof PASSWORD_HASH_TYPES)[number];

export function isPasswordHashType(value: string): value is PasswordHashType {
  return (PASSWORD_HASH_TYPES as readonly string[]).includes(value);
}

const BCRYPT = /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DIGITS = /^\d+$/;

function decodeBase64(text: string | undefined): Buffer | null {
  if (text === undefined || !BASE64.test(text)) return null;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  return Buffer.from(unpadded, 'base64');
}

function positiveInteger(text: string | undefined): number | null {
  if (text === undefined || !DIGITS.test(text)) return null;
  const value = Number(text);
  return value > 0 && Number.isSafeInteger(value) ? value : null;
}

/** `k=v` pairs, each name once; null when one is malformed or repeated. */
function readPairs(pairs: readonly string[]): Map<string, string> | null {
  const named = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0 || named.has(pair.slice(0, equals))) return null;
    named.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  return named;
}

/** `$id[$v=N]$k=v,…$salt$hash`, the PHC string format. */
interface PhcString {
  id: string;
  version: number | null;
  params: Map<string, string>;
  salt: Buffer;
  hash: Buffer;
}

function parsePhc(text: string): PhcString | null {
  const fields = text.split('$');
  if (fields.length < 5 || fields.length > 6 || fields[0] !== '') return null;
  const [, id, ...rest] = fields as [string, string, ...string[]];
  let version: number | null = null;
  if (rest.length === 4) {
    const versionField = rest.shift() as string;
    version = versionField.startsWith('v=') ? positiveInteger(versionField.slice(2)) : null;
    if (version === null) return null;
  }
  const [paramField, saltField, hashField] = rest as [string, string, string];
  const params = readPairs(paramField.split(','));
  const salt = decodeBase64(saltField);
  const hash = decodeBase64(hashField);
  if (!id || !params || !salt?.length || !hash?.length) return null;
  return { id, version, params, salt, hash };
}

function hasIntegerParams(phc: PhcString, required: readonly string[], optional: readonly string[] = []): boolean {
  for (const name of required) if (positiveInteger(phc.params.get(name)) === null) return false;
  for (const [name, value] of phc.params) {
    if (!required.includes(name) && !(optional.includes(name) && positiveInteger(value) !== null)) return false;
  }
  return true;
}

export interface FirebaseScryptHash {
  hash: Buffer;
  salt: Buffer;
  signerKey: Buffer;
  saltSeparator: Buffer;
  rounds: number;
  memCost: number;
}

function firebaseScryptFrom(params: Map<string, string>, salt: Buffer | null, hash: Buffer | null): FirebaseScryptHash | null {
  if (params.size !== 4) return null;
  const rounds = positiveInteger(params.get('r'));
  const memCost = positiveInteger(params.get('m'));
  const signerKey = decodeBase64(params.get('sk'));
  const saltSeparator = decodeBase64(params.get('ss'));
  if (rounds === null || memCost === null || !signerKey?.length || !saltSeparator || !salt?.length || !hash?.length) return null;
  return { hash, salt, signerKey, saltSeparator, rounds, memCost };
}

/**
 * Reads both firebase-scrypt layouts: the documented PHC form
 * `$firebase-scrypt$v=1$r=8,m=14,ss=…,sk=…$<salt>$<hash>` and the migration CLI's
 * `$firebase-scrypt$hash=…$salt=…$sk=…$ss=…$r=8$m=14`, base64 padded or not, parameters in any order.
 * The separator may be empty; nothing else may.
 */
export function parseFirebaseScrypt(text: string): FirebaseScryptHash | null {
  if (!text.startsWith('$firebase-scrypt$')) return null;
  const phc = parsePhc(text);
  if (phc) return phc.version === 1 ? firebaseScryptFrom(phc.params, phc.salt, phc.hash) : null;
  const named = readPairs(text.split('$').slice(2));
  if (!named) return null;
  const salt = decodeBase64(named.get('salt'));
  const hash = decodeBase64(named.get('hash'));
  named.delete('salt');
  named.delete('hash');
  return firebaseScryptFrom(named, salt, hash);
}

/** SSHA layouts are unconfirmed (workos-api.md §9): base64 of digest ‖ salt, optionally `{SSHA}`-prefixed. */
function isSaltedSha(text: string, prefix: string, digestBytes: number): boolean {
  const bytes = decodeBase64(text.startsWith(prefix) ? text.slice(prefix.length) : text);
  return bytes !== null && bytes.length > digestBytes;
}

export function isWellFormedPasswordHash(type: PasswordHashType, text: string): boolean {
  switch (type) {
    case 'bcrypt':
      return BCRYPT.test(text);
    case 'firebase-scrypt':
      return parseFirebaseScrypt(text) !== null;
    case 'ssha':
      return isSaltedSha(text, '{SSHA}', 20);
    case 'ssha256':
      return isSaltedSha(text, '{SSHA256}', 32);
    case 'scrypt': {
      const phc = parsePhc(text);
      return phc?.id === 'scrypt' && phc.version === null && hasIntegerParams(phc, ['ln', 'r', 'p']);
    }
    case 'argon2': {
      const phc = parsePhc(text);
      return (phc?.id === 'argon2id' || phc?.id === 'argon2i' || phc?.id === 'argon2d') && hasIntegerParams(phc, ['m', 't', 'p']);
    }
    case 'pbkdf2': {
      const phc = parsePhc(text);
      return (phc?.id === 'pbkdf2-sha256' || phc?.id === 'pbkdf2-sha512' || phc?.id === 'pbkdf2-sha1') && phc.version === null && hasIntegerParams(phc, ['i'], ['l']);
    }
  }
}
