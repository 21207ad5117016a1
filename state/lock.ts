// One process per ledger: `<ledger>.lock` is created with O_EXCL and holds the owner's pid. A second
// process refuses at start, naming the owner; a lock left by a process that died (SIGKILL, power loss)
// is taken over. Handles opened in the same process share the lock, so a verb may read the ledger
// (replay) while its sink writes to it.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import { UsageError } from '../pipelines/errors.ts';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

export interface LedgerLock {
  release(): void;
}

/** Lock files this process holds, with the number of open handles on each. */
const held = new Map<string, number>();

process.once('exit', () => {
  for (const lockFile of held.keys()) unlinkQuietly(lockFile);
});

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone: someone removed a lock they judged stale.
  }
}

function readOwner(lockFile: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' ? { pid: owner.pid, host: String(owner.host ?? ''), startedAt: String(owner.startedAt ?? '') } : null;
  } catch {
    return null;
  }
}

/**
 * Whether a process is dead but not yet reaped by its parent (Linux's /proc says Z or X). A killed process stays so
 * while its parent has not waited for it (a script's shell, a container's pid 1 that never does), and signal 0
 * still reaches it: `kill -9 <pid>; authpipe run ...` would find the ledger in use. Elsewhere no process looks so.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM' && !isZombie(pid);
  }
}

/** Whether the owner may still be using the ledger. A lock naming this very process but not held by it
 * was left by an earlier process that had the same pid (common in containers). */
function ownerIsActive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.pid === process.pid) return false;
  return isAlive(owner.pid);
}

function tryCreate(lockFile: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  writeSync(fd, JSON.stringify(owner));
  closeSync(fd);
  return true;
}

function inUse(ledgerFile: string, lockFile: string, owner: LockOwner | null): UsageError {
  const who = owner
    ? `process ${owner.pid}${owner.host === os.hostname() ? '' : ` on ${owner.host}`} (started ${owner.startedAt})`
    : 'another process';
  // Refused before anything is read, as other refusals of a ledger are (exit 2).
  return new UsageError(
    'ledger.locked',
    `ledger ${ledgerFile} is in use by ${who}; wait for it or stop it (if no authpipe is running, delete ${lockFile})`,
  );
}

const ABANDONED_TAKEOVER_MS = 5000;

function isOlderThan(file: string, ms: number): boolean {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats === undefined || Date.now() - stats.mtimeMs > ms;
}

/**
 * Replaces a lock left by a dead process. Two processes may find it stale at once: removing it and creating a new
 * one is done by one process at a time, holding `<lock>.takeover`, or the second would remove the first's fresh lock
 * and both would write the ledger.
 */
function takeOver(ledgerFile: string, lockFile: string): void {
  const takeoverFile = `${lockFile}.takeover`;
  if (!tryCreate(takeoverFile)) {
    // One that died while taking over (a window of microseconds, maybe before writing its pid) must not block the
    // ledger for good; one still writing its pid is given a moment.
    const taker = readOwner(takeoverFile);
    const abandoned = taker === null ? isOlderThan(takeoverFile, ABANDONED_TAKEOVER_MS) : !ownerIsActive(taker);
    if (!abandoned) throw inUse(ledgerFile, takeoverFile, taker);
    unlinkQuietly(takeoverFile);
    if (!tryCreate(takeoverFile)) throw inUse(ledgerFile, takeoverFile, readOwner(takeoverFile));
  }
  try {
    // Looked at again under the takeover lock: another process may have taken the lock over meanwhile.
    const owner = readOwner(lockFile);
    if (owner === null || ownerIsActive(owner)) throw inUse(ledgerFile, lockFile, owner);
    unlinkQuietly(lockFile);
    if (!tryCreate(lockFile)) throw inUse(ledgerFile, lockFile, readOwner(lockFile));
  } finally {
    unlinkQuietly(takeoverFile);
  }
}

/** The process holding the ledger's lock now, if one does: a run writing while someone reads. */
export function activeOwnerOf(ledgerFile: string): LockOwner | null {
  const owner = readOwner(`${ledgerFile}.lock`);
  return owner !== null && ownerIsActive(owner) ? owner : null;
}

export function lockLedger(ledgerFile: string): LedgerLock {
  const lockFile = `${ledgerFile}.lock`;
  const handles = held.get(lockFile);
  if (handles === undefined) {
    if (!tryCreate(lockFile)) {
      const owner = readOwner(lockFile);
      if (owner === null || ownerIsActive(owner)) throw inUse(ledgerFile, lockFile, owner);
      takeOver(ledgerFile, lockFile);
    }
  }
  held.set(lockFile, (handles ?? 0) + 1);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const remaining = (held.get(lockFile) ?? 1) - 1;
      if (remaining > 0) {
        held.set(lockFile, remaining);
        return;
      }
      held.delete(lockFile);
      unlinkQuietly(lockFile);
    },
  };
}
