import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../sources/context.ts';
import { root } from '../authpipe/cli.ts';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

/** A checkout of its own (sources copied, packages linked), so its build and its edits touch nothing else. */
function copyOfCheckout(): string {
  const copy = tempDir();
  for (const entry of ['bin', 'authpipe.ts', 'package.json', 'pipelines', 'sources', 'stages', 'sinks', 'state', 'emulators']) {
    cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  return copy;
}

async function authpipe(checkout: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(checkout, 'bin/authpipe.js'), ...args], { cwd: checkout });
  return stdout;
}

test('a fresh checkout builds the CLI on first use; an edited source is rebuilt before the next command runs', async () => {
  const checkout = copyOfCheckout();
  assert.equal(existsSync(path.join(checkout, 'dist')), false);
  assert.equal((await authpipe(checkout, '--version')).trim(), version);

  const packageFile = path.join(checkout, 'package.json');
  writeFileSync(packageFile, readFileSync(packageFile, 'utf8').replace(`"version": "${version}"`, '"version": "9.9.9-edited"'));
  assert.equal((await authpipe(checkout, '--version')).trim(), '9.9.9-edited');

  const csvSource = path.join(checkout, 'sources/csv.ts');
  writeFileSync(csvSource, readFileSync(csvSource, 'utf8').replace('Separator between cells', 'Edited separator text'));
  assert.match(await authpipe(checkout, 'read', 'csv', '--help'), /Edited separator text/);
});

test('verbs of a chain starting together on a fresh checkout each run the whole CLI', async () => {
  const checkout = copyOfCheckout();
  const results = await Promise.all(Array.from({ length: 4 }, () => authpipe(checkout, '--version')));
  assert.deepEqual(
    results.map((output) => output.trim()),
    [version, version, version, version],
  );
});
