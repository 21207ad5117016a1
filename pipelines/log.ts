// Everything for people goes to stderr; stdout carries data only. Secrets registered here never print.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Registers a value (API key, hash) that must never appear in any message. */
  redact(secret: string | undefined): void;
  readonly quiet: boolean;
}

/**
 * Password hashes as exports write them: modular crypt (`$2a$10$...`, `$argon2id$...`), fields joined by `$`
 * (`pbkdf2_sha256$27500$salt$hash`, Clerk's scrypt digests), and bare digests: 40 or more hex or Base64 characters
 * with a digit, no `_` or `-` (ids are shorter, names have separators). A hash ends at a space, a quote or a comma,
 * but for the commas of argon2's parameters (`m=65536,t=2,p=1`); a bare prefix (`$2a$`) or a layout with
 * placeholders (`$scrypt$ln=<log2 N>`), as messages describe hashes, is none. Also an MD5 digest (32 hex), LDAP's
 * `{SSHA}...` and colon-joined PBKDF2 (`sha1:64000:18:salt:hash`). A message can quote one without meaning to:
 * a headerless export's first row read as its column names, a cell in a CSV error.
 */
const HASH_LIKE = /\$[\w-]{1,24}\$(?:[^\s"',;|<>]|,(?=\w+=)){12,}|(?=[\w+/.=$-]{24})[\w+/.=-]+(?:\$[\w+/.=-]*){2,}|(?<![\w+/=-])(?=[A-Za-z\d+/=]*\d)[A-Za-z\d+/=]{40,}(?![\w+/=-])|(?<![\w+/=-])[A-Fa-f\d]{32}(?![\w+/=-])|\{[A-Z\d]{2,12}\}[A-Za-z\d+/=]{12,}|\b\w+:\d+:\d+:[^\s:"']+:[^\s:,;"']+/g;

/** The message with anything shaped like a password hash replaced by `placeholder`. */
export function hideHashes(message: string, placeholder = '[hidden: looks like a password hash]'): string {
  return message.replace(HASH_LIKE, placeholder);
}

/**
 * Characters a terminal would not show, or would act on: format characters (a zero-width space, a right-to-left
 * override that reverses the rest of the line) and controls (an escape sequence), other than line breaks and tabs.
 */
const INVISIBLE = /[\p{Cf}\u2028\u2029]|(?![\n\t])\p{Cc}/gu;

/** A WorkOS API key, wherever a message may hold one (an error quoting a request's headers). */
export const API_KEY = /sk_(?:test|live)_\w+/g;

/**
 * The message as it may be shown to people: no hash and no API key in it, and every invisible character written as
 * <U+XXXX>.
 */
export function forPeople(message: string): string {
  return hideHashes(message).replace(API_KEY, '[API key]').replace(INVISIBLE, (char) => `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`);
}

/** `3 rows`, `1 row`: a count with its noun, for messages. */
export function counted(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function createLogger({ quiet = false, write = (line: string) => process.stderr.write(line) } = {}): Logger {
  const secrets = new Set<string>();
  const scrub = (message: string) => {
    let clean = forPeople(message);
    for (const secret of secrets) clean = clean.split(secret).join('[redacted]');
    return clean;
  };
  return {
    quiet,
    info(message) {
      if (!quiet) write(`${scrub(message)}\n`);
    },
    warn(message) {
      write(`warning: ${scrub(message)}\n`);
    },
    redact(secret) {
      if (secret && secret.length >= 4) secrets.add(secret);
    },
  };
}
