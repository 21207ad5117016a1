// `${VAR}` and `${VAR:-default}` in pipeline files, resolved against the environment before validation.

/** A reference, or (second branch) any other `${`: a misspelt one (`${OUT-x}`, `${1X}`, unclosed) kept as text would name a file `${OUT-x}`. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^}$]|\$(?!\{))*))?\}|\$\{[^}]{0,40}\}?/g;

export interface InterpolationResult {
  value: string;
  /** Variables that were referenced without a default and are not set. */
  missing: string[];
  /** References not written as `${NAME}` or `${NAME:-default}`, as they stand. */
  malformed: string[];
}

export function interpolate(text: string, env: NodeJS.ProcessEnv): InterpolationResult {
  const missing: string[] = [];
  const malformed: string[] = [];
  const value = text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) {
      malformed.push(match);
      return match;
    }
    const current = env[name];
    if (current !== undefined && current !== '') return current;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value, missing, malformed };
}
