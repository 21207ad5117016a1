import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Utf8Check } from '../../sources/utf8-check.mjs';

/** Whether the check finds bytes that do not decode in `bytes` given as two chunks split at `at`. */
function undecodableSplitAt(bytes: Buffer, at: number): boolean {
  const check = new Utf8Check();
  check.take(bytes.subarray(0, at));
  check.take(bytes.subarray(at));
  check.end();
  return check.sawUndecodable;
}

test('characters of two, three and four bytes, and a U+FFFD of the text, decode wherever a chunk ends', () => {
  const text = Buffer.from('aé€😀\ufffdz', 'utf8');
  for (let at = 0; at <= text.length; at++) assert.equal(undecodableSplitAt(text, at), false, `split at ${at}`);
});

test('a file is said to read as UTF-8 only once a character beyond ASCII decodes: a Windows-1252 é ending a chunk is none yet', () => {
  const check = new Utf8Check();
  check.take(Buffer.from('Jos\xe9', 'latin1'));
  assert.equal(check.readsAsUtf8, false);
  check.take(Buffer.from(' Silva', 'latin1'));
  assert.equal(check.readsAsUtf8, false);
  const utf8 = new Utf8Check();
  utf8.take(Buffer.from('José', 'utf8').subarray(0, 4));
  assert.equal(utf8.readsAsUtf8, false);
  utf8.take(Buffer.from('José', 'utf8').subarray(4));
  assert.equal(utf8.readsAsUtf8, true);
});

test('a byte that is not UTF-8, a character cut short at the end, or a lone continuation byte do not decode', () => {
  assert.equal(undecodableSplitAt(Buffer.from('Ren\xe9 ok', 'latin1'), 3), true);
  assert.equal(undecodableSplitAt(Buffer.from([0x61, 0xe2, 0x82]), 1), true);
  assert.equal(undecodableSplitAt(Buffer.from([0x61, 0x80, 0x62]), 2), true);
});
