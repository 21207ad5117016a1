import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { componentsReference } from '../../pipelines/reference.ts';

test('the README components reference matches the option schemas (run `npm run docs` after changing one)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(componentsReference()), 'README.md is out of date: run `npm run docs`');
});

test('the reference lists every option with its default', () => {
  const reference = componentsReference();
  assert.match(reference, /### source `csv`/);
  assert.match(reference, /\| `encoding` \| string \| `"utf-8"` \|/);
});
