// Everything for people goes to stderr; stdout carries data only. Secrets registered here never print.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Registers a value (API key, hash) that must never appear in any message. */
  redact(secret: string | undefined): void;
  readonly quiet: boolean;
}

export function createLogger({ quiet = false, write = (line: string) => process.stderr.write(line) } = {}): Logger {
  const secrets = new Set<string>();
  const scrub = (message: string) => {
    let clean = message;
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
