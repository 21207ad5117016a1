// Emails (case-insensitive) and external ids must be unique across the whole stream. What was seen is kept in a
// throwaway folder (claim-index.ts), not in memory, so a 10M-row export costs disk rather than heap.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../pipelines/component.ts';
import { AuthpipeError } from '../../pipelines/errors.ts';
import { hasErrors, normalizeEmail, type Envelope } from '../../pipelines/record.ts';
import { ClaimIndex, type Claim } from './claim-index.ts';
import { addIssue, type RuleRun, type ValidationRule } from './rule.ts';

function createIndexFolder(parent: string): string {
  try {
    return mkdtempSync(path.join(parent, 'authpipe-duplicates-'));
  } catch (error) {
    throw new AuthpipeError('validate.index_unavailable', `cannot create the duplicate index in ${parent}: ${(error as Error).message}`);
  }
}

function claimsOf(envelope: Envelope): Claim[] {
  const { email, externalId } = envelope.user;
  const claims: Claim[] = [];
  if (email) claims.push({ kind: 'email', value: normalizeEmail(email) });
  if (externalId !== undefined) claims.push({ kind: 'externalId', value: externalId });
  return claims;
}

function startDuplicateIndex(ctx: Context): RuleRun {
  // TMPDIR picks the disk: the index of a 10M-row export runs to about 1.5 GB, too much for a small tmpfs.
  const folder = createIndexFolder(ctx.env.TMPDIR || os.tmpdir());
  // The folder holds every email and external id seen: it goes even when the process exits mid-stream (a reader
  // closing the pipe, a second Ctrl-C), which skips `close`.
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  process.on('exit', removeFolder);
  let index: ClaimIndex;
  try {
    index = new ClaimIndex(folder);
  } catch (error) {
    removeFolder();
    process.off('exit', removeFolder);
    throw error;
  }

  return {
    check(envelope: Envelope): void {
      // Only a row that will be written may hold an email or an external id.
      if (hasErrors(envelope)) return;
      const claims = claimsOf(envelope);
      if (claims.length === 0) return;
      const holders = index.claimRow(claims, envelope.origin);
      claims.forEach(({ kind, value }, position) => {
        const holder = holders[position];
        if (holder === undefined) return;
        if (kind === 'email') addIssue(envelope, 'error', 'email.duplicate', 'email', `${value} already appears at ${holder}`);
        else addIssue(envelope, 'error', 'external_id.duplicate', 'externalId', `external id ${JSON.stringify(value)} already appears at ${holder}`);
      });
    },
    close(): void {
      index.close();
      removeFolder();
      process.off('exit', removeFolder);
    },
  };
}

export const duplicatesRule: ValidationRule = {
  name: 'duplicates',
  start: startDuplicateIndex,
};
