// What the source and sink tests share: a real temp folder and a run context rooted in it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedResources, type Context } from '../../pipelines/component.ts';
import { createLogger } from '../../pipelines/log.ts';

const madeDirs = new Set<string>();

/** A fresh folder under the system temp folder, removed when the test process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-files-'));
  // One exit listener for every folder: one each would pass Node's limit of ten and have it warn.
  if (madeDirs.size === 0) process.once('exit', () => madeDirs.forEach((made) => rmSync(made, { recursive: true, force: true })));
  madeDirs.add(dir);
  return dir;
}

export function contextIn(baseDir: string, signal: AbortSignal = new AbortController().signal): Context {
  return { baseDir, env: {}, log: createLogger({ quiet: true }), signal, incomplete: new AbortController(), dryRun: false, live: false, shared: sharedResources().shared, runProgress: { written: 0, failed: 0 } };
}

/** Writes `content` to `name` in a fresh temp folder and returns the folder and the file's absolute path. */
export function fileWith(name: string, content: string | Buffer): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return { dir, file };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

export async function* streamOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}
