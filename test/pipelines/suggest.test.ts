import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didYouMean } from '../../pipelines/suggest.ts';

test('suggests the closest known name for a typo', () => {
  assert.equal(didYouMean('preest', ['preset', 'fields', 'orgs']), ' (did you mean "preset"?)');
  assert.equal(didYouMean('ndjosn', ['csv', 'ndjson', 'json']), ' (did you mean "ndjson"?)');
});

test('suggests nothing when no name is close', () => {
  assert.equal(didYouMean('concurrency', ['path', 'key']), '');
});
