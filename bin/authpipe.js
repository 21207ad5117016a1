#!/usr/bin/env node
// @ts-check
// The CLI runs as JavaScript bundled from authpipe.ts by esbuild into dist/, built on first use and again whenever a
// file it was built from has changed since: the checkout needs no build step and never runs stale code. Running the
// TypeScript through tsx's loader instead costs every invocation a loader thread (measured at 1M rows: about 40 MB
// more peak RSS, and 0.6 s more start-up, paid by each verb of a Unix chain).
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = path.join(root, 'dist');
/** The source files of the last build, relative to the root, and when that build started reading them. */
const manifestFile = path.join(outdir, 'manifest.json');

/** @param {string} file */
function modifiedAt(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

function isFresh() {
  /** @type {{ startedAt: number, inputs: string[] }} */
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return false;
  }
  return manifest.inputs.every((input) => modifiedAt(path.join(root, input)) < manifest.startedAt);
}

/**
 * Writes the file under a name of its own, then renames it into place: the verbs of a chain start together and may
 * all build at once, and none of them may load another's half-written file.
 * @param {string} file
 * @param {string | Uint8Array} contents
 */
function writeInPlace(file, contents) {
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, contents);
  renameSync(partial, file);
}

// esbuild is loaded only to build: loading it takes longer than checking the manifest.
async function build() {
  const { buildSync } = await import('esbuild');
  const startedAt = Date.now();
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: [
      { in: 'authpipe.ts', out: 'authpipe' },
      // The csv source starts its worker from the file beside its own module, in sources/ or here in dist/.
      { in: 'sources/csv-parse-thread.worker.mjs', out: 'csv-parse-thread.worker' },
    ],
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  try {
    mkdirSync(outdir, { recursive: true });
    for (const output of result.outputFiles) writeInPlace(output.path, output.contents);
    writeInPlace(manifestFile, JSON.stringify({ startedAt, inputs: Object.keys(result.metafile.inputs) }));
  } catch (error) {
    const reason = /** @type {NodeJS.ErrnoException} */ (error).code ?? String(error);
    process.stderr.write(`authpipe: cannot write its build to ${outdir} (${reason}); run it once as the checkout's owner\n`);
    process.exit(1);
  }
}

if (!isFresh()) await build();
await import(new URL('../dist/authpipe.mjs', import.meta.url).href);
