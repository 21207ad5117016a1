import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spreadsheetSafe } from '../../sinks/spreadsheet-safe.ts';

test('prefixes a single quote to a cell that a spreadsheet would evaluate', () => {
  assert.deepEqual(
    ['=cmd', '+1', '-2', '@x', '\tTAB', '\rCR'].map(spreadsheetSafe),
    ["'=cmd", "'+1", "'-2", "'@x", "'\tTAB", "'\rCR"],
  );
});

test('leaves other cells, the empty cell and formula characters after the first one untouched', () => {
  assert.deepEqual(
    ['', 'ana@example.com', 'Ana-Maria', 'a=b', ' =1', "'quoted", '$2a$10$abc', '{"plan":"pro"}'].map(spreadsheetSafe),
    ['', 'ana@example.com', 'Ana-Maria', 'a=b', ' =1', "'quoted", '$2a$10$abc', '{"plan":"pro"}'],
  );
});
