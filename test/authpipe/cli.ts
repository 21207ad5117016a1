// Runs the real CLI in a child process, as a user's shell would.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
export const bin = path.join(root, 'bin/authpipe.js');

// An `authpipe` command on the PATH of chained shells, as `npm install -g` or `npx` would provide.
const shimDir = mkdtempSync(path.join(os.tmpdir(), 'authpipe-bin-'));
writeFileSync(path.join(shimDir, 'authpipe'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
chmodSync(path.join(shimDir, 'authpipe'), 0o755);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `uid`: the user to run as (with the same group id), as root may. */
export function runCli(args: string[], { input, env = {}, cwd = root, uid }: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number } = {}): Promise<CliResult> {
  return runShell(null, args, { input, env, cwd, uid });
}

/** Runs a shell command line (pipes between verbs), with `authpipe` on the PATH of the shell. */
export function runChain(commandLine: string, { input, env = {}, cwd = root }: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return runShell(commandLine, [], { input, env, cwd });
}

function runShell(commandLine: string | null, args: string[], { input, env, cwd, uid }: { input?: string; env: NodeJS.ProcessEnv; cwd: string; uid?: number }): Promise<CliResult> {
  const child =
    commandLine === null
      ? spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env }, ...(uid === undefined ? {} : { uid, gid: uid }) })
      : spawn('bash', ['-o', 'pipefail', '-c', commandLine], {
          cwd,
          env: { ...process.env, ...env, PATH: `${shimDir}:${process.env.PATH}` },
        });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
