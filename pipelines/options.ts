// Reads a component's zod option schema as plain field descriptions: the one place that knows zod's
// internals, so the loader (path checks), the CLI (flags) and the README (reference) agree.
import { z } from 'zod';

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'list' | 'json';

export interface OptionField {
  key: string;
  kind: FieldKind;
  description: string;
  required: boolean;
  defaultValue?: unknown;
  choices?: string[];
  pathRole?: 'input' | 'output';
  /** A secret (an API key): set in the environment or the pipeline file, never as a flag, where `ps` and shell history keep it. */
  secret?: boolean;
}

interface ZodDefinition {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  defaultValue?: unknown;
}

function definitionOf(schema: z.ZodType): ZodDefinition {
  return schema._zod.def as unknown as ZodDefinition;
}

function kindOf(definition: ZodDefinition): Pick<OptionField, 'kind' | 'choices'> {
  switch (definition.type) {
    case 'string':
      return { kind: 'string' };
    case 'number':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', choices: Object.values(definition.entries ?? {}) };
    case 'array': {
      const element = definition.element ? definitionOf(definition.element) : undefined;
      return element && (element.type === 'string' || element.type === 'enum')
        ? { kind: 'list', choices: element.type === 'enum' ? Object.values(element.entries ?? {}) : undefined }
        : { kind: 'json' };
    }
    default:
      return { kind: 'json' };
  }
}

export function describeField(key: string, schema: z.ZodType): OptionField {
  let description: string | undefined;
  let pathRole: OptionField['pathRole'];
  let secret: boolean | undefined;
  let required = true;
  let defaultValue: unknown;
  let current = schema;
  for (;;) {
    const meta = current.meta() as { description?: string; pathRole?: OptionField['pathRole']; secret?: boolean } | undefined;
    description ??= meta?.description ?? current.description;
    pathRole ??= meta?.pathRole;
    secret ??= meta?.secret;
    const definition = definitionOf(current);
    if (definition.type === 'optional' || definition.type === 'default' || definition.type === 'prefault') required = false;
    if (definition.type === 'default') defaultValue = definition.defaultValue;
    if (!definition.innerType) break;
    current = definition.innerType;
  }
  return { key, description: description ?? '', required, defaultValue, pathRole, secret, ...kindOf(definitionOf(current)) };
}

export function describeOptions(schema: z.ZodObject): OptionField[] {
  return Object.entries(schema.shape).map(([key, field]) => describeField(key, field as z.ZodType));
}

/** The keys an object at `path` in the schema may have, through optional, default, array and union wrappers: for "did you mean". */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const definition = definitionOf(schema);
  if (definition.innerType) return keysAt(definition.innerType, path);
  if (definition.type === 'union') return (definition.options ?? []).flatMap((option) => keysAt(option, path));
  if (definition.type === 'array' && definition.element) return keysAt(definition.element, typeof path[0] === 'number' ? path.slice(1) : path);
  if (definition.type !== 'object' || !definition.shape) return [];
  if (path.length === 0) return Object.keys(definition.shape);
  const next = definition.shape[String(path[0])];
  return next ? keysAt(next, path.slice(1)) : [];
}

/**
 * Whether a value typed on the command line is a YAML list or map (`[email,hash]`, `{emailVerified: false}`); any
 * other value is the text given, which YAML would change (`#x`, `012`, `@x`).
 */
export function isListOrMapText(text: string): boolean {
  return /^\s*[[{]/.test(text);
}
