import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLedger } from '../../state/ledger.ts';
import { tempDir } from '../sources/context.ts';

test('a ledger in a folder that does not exist yet is created there, readable by its owner only', () => {
  const file = path.join(tempDir(), 'not', 'yet', 'there.db');
  const ledger = openLedger(file);
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    ledger.close();
  }
});

test('a ledger file made by another tool with open permissions is tightened to 0600', () => {
  const file = path.join(tempDir(), 'loose.db');
  writeFileSync(file, '', { mode: 0o644 });
  openLedger(file).close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('reading a ledger that does not exist says so, naming the file', () => {
  const file = path.join(tempDir(), 'missing.db');
  assert.throws(() => openLedger(file, { readonly: true }), { code: 'ledger.missing', message: `ledger ${file} does not exist` });
});
