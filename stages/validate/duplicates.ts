// Emails (case-insensitive) and external ids must be unique across the whole stream. What was seen is kept in a
// throwaway folder (claim-index.ts), not in memory, so a 10M-row export costs disk rather than heap.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../pipelines/component.ts';
import { AuthpipeError } from '../../pipelines/errors.ts';
import { hasErrors, normalizeEmail, positionKey, type Envelope } from '../../pipelines/record.ts';
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

/**
 * A WorkOS import CSV sorted by organization lists a user's memberships apart: the dedupe stage joins only adjacent
 * rows, so a later row of the same user is a duplicate, and what it says about organizations is not imported.
 */
function membershipsLost(envelope: Envelope): string {
  const orgs = (envelope.user.orgs ?? []).map((org) => org.externalId ?? org.id ?? org.name).filter((name) => name !== undefined);
  if (orgs.length === 0) return '';
  return `; this row's memberships (${orgs.join(', ')}) are not imported: sort the file so a user's rows are adjacent and add the dedupe stage, which joins them`;
}

function startDuplicateIndex(ctx: Context): RuleRun {
  // TMPDIR picks the disk: the index of a 10M-row export runs to about 1.5 GB, too much for a small tmpfs.
  const folder = createIndexFolder(ctx.env.TMPDIR || os.tmpdir());
  // The folder holds every email and external id seen: it goes even when the process exits mid-stream (a reader
  // closing the pipe, a second Ctrl-C), which skips `close`.
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  process.on('exit', removeFolder);
  const release = () => {
    removeFolder();
    process.off('exit', removeFolder);
  };
  let index: ClaimIndex;
  try {
    index = new ClaimIndex(folder);
  } catch (error) {
    release();
    throw error;
  }

  return {
    check(envelope: Envelope): void {
      // Only a row that will be written may hold an email or an external id.
      if (hasErrors(envelope)) return;
      const claims = claimsOf(envelope);
      if (claims.length === 0) return;
      const holders = index.claimRow(claims, envelope.origin);
      if (holders.every((holder) => holder === undefined)) return;
      // The row's key (its external id, else its email) belongs to the row that claimed it first: a duplicate is known
      // by its position, as a row with neither is, so the ledger records it apart instead of over the first row.
      envelope.key = positionKey(envelope.seq);
      const lost = membershipsLost(envelope);
      claims.forEach(({ kind, value }, position) => {
        const holder = holders[position];
        if (holder === undefined) return;
        if (kind === 'email') addIssue(envelope, 'error', 'email.duplicate', 'email', `${value} already appears at ${holder}${lost}`);
        else addIssue(envelope, 'error', 'external_id.duplicate', 'externalId', `external id ${JSON.stringify(value)} already appears at ${holder}${lost}`);
      });
    },
    close(): void {
      index.close();
      release();
    },
  };
}

export const duplicatesRule: ValidationRule = {
  name: 'duplicates',
  start: startDuplicateIndex,
};
