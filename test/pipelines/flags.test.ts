import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addComponentFlags, componentOptionsFrom } from '../../pipelines/flags.ts';
import { mapStage } from '../../stages/map.ts';

function mapFlags(...args: string[]): Record<string, unknown> {
  const command = addComponentFlags(new Command('map').exitOverride().configureOutput({ writeErr: () => undefined }), mapStage);
  command.parse(args, { from: 'user' });
  return componentOptionsFrom(command, mapStage);
}

test('an object flag takes JSON, or YAML flow as a pipeline file writes it', () => {
  assert.deepEqual(mapFlags('--defaults', '{"emailVerified": false}'), { defaults: { emailVerified: false } });
  assert.deepEqual(mapFlags('--defaults', '{emailVerified: false}', '--fields', '{email: mail}'), {
    defaults: { emailVerified: false },
    fields: { email: 'mail' },
  });
});

test('an object flag that is neither JSON nor YAML is refused, saying where it breaks', () => {
  assert.throws(() => mapFlags('--fields', '{email: x'), {
    code: 'commander.invalidArgument',
    message: /^error: option '--fields <json>' argument '\{email: x' is invalid\. not valid JSON or YAML: Flow map must end with a \} at line 1, column 10$/,
  });
});

test('an object flag given a word keeps the word as written', () => {
  for (const word of ['#x', '012', '0x10', '@x', 'first_name']) assert.deepEqual(mapFlags('--full-name', word), { fullName: word });
  assert.deepEqual(mapFlags('--full-name', '"name"'), { fullName: 'name' });
});

test('an object flag written as JSON without its quotes on keys says to put a space after the colon, or write JSON', () => {
  assert.throws(() => mapFlags('--fields', '{email:"mail"}'), {
    code: 'commander.invalidArgument',
    message: /argument '\{email:"mail"\}' is invalid\. "email:\\"mail\\"" reads as one key without a value: put a space after its colon \(\{email: mail\}\) or write JSON \(\{"email": "mail"\}\)$/,
  });
});
