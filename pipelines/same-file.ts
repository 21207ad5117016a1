// Whether two paths are one file, for the checks that keep one output from replacing another, an input or the ledger.
import { statSync } from 'node:fs';

/** Whether two paths name one file: the same path, or (through a link) the same file on disk. A folder is no file. */
export function isSameFile(a: string, b: string): boolean {
  const [first, second] = [statSync(a, { throwIfNoEntry: false }), statSync(b, { throwIfNoEntry: false })];
  if (first?.isDirectory()) return false;
  if (a === b) return true;
  return first !== undefined && second !== undefined && first.ino === second.ino && first.dev === second.dev;
}
