// A verb's flags, derived from its component's option schema so YAML and CLI never drift.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { Component } from './component.ts';
import { describeOptions, isListOrMapText, type OptionField } from './options.ts';

/** The flag an option is given as on the command line: `readRate` is `read-rate`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** A scalar flag value as JSON reads it (`true`, `3`), else as the text given. */
function parseScalar(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function parserFor(field: OptionField): ((value: string) => unknown) | undefined {
  switch (field.kind) {
    case 'number':
      return (value) => Number(value);
    case 'list':
      return (value) => value.split(',').map((item) => item.trim()).filter(Boolean);
    case 'json':
      // A list or a map is YAML's flow style, which takes JSON and what a pipeline file would hold.
      return (value) => {
        if (!isListOrMapText(value)) return parseScalar(value);
        let parsed: unknown;
        try {
          parsed = parseYaml(value) as unknown;
        } catch (error) {
          throw new InvalidArgumentError(`not valid JSON or YAML: ${(error as Error).message.split('\n')[0].replace(/:$/, '')}`);
        }
        // YAML reads `{email:"mail"}` as one key with no value: a colon needs a space after it there.
        const joined = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed).find(([key, entry]) => entry === null && key.includes(':')) : undefined;
        if (joined !== undefined) {
          throw new InvalidArgumentError(`${JSON.stringify(joined[0])} reads as one key without a value: put a space after its colon ({email: mail}) or write JSON ({"email": "mail"})`);
        }
        return parsed;
      };
    default:
      return undefined;
  }
}

function optionFor(field: OptionField): Option {
  const flag = `--${flagName(field.key)}`;
  const hint = field.kind === 'list' ? '<a,b,...>' : field.kind === 'json' ? '<json>' : '<value>';
  const option = new Option(field.kind === 'boolean' ? flag : `${flag} ${hint}`, field.description);
  if (field.choices && field.kind === 'enum') option.choices(field.choices);
  if (field.defaultValue !== undefined) option.default(undefined, JSON.stringify(field.defaultValue));
  const parse = parserFor(field);
  if (parse) option.argParser(parse);
  return option;
}

/** Adds one flag per option, except `positional`, which the verb takes as an argument, and secrets. */
export function addComponentFlags(command: Command, component: Component, positional?: string): Command {
  for (const field of describeOptions(component.options)) {
    if (field.key !== positional && !field.secret) command.addOption(optionFor(field));
  }
  return command;
}

/** The options a verb was given, keyed like the YAML block (commander already camel-cases flags). */
export function componentOptionsFrom(command: Command, component: Component, positionalValue?: string, positional?: string): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  const values = command.opts();
  for (const field of describeOptions(component.options)) {
    if (field.key === positional) {
      if (positionalValue !== undefined) given[field.key] = positionalValue;
    } else if (values[field.key] !== undefined) {
      given[field.key] = values[field.key];
    }
  }
  return given;
}
