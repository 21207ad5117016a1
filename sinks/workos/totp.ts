// TOTP factors carried over from the source, enrolled once per user. Enrolling twice would give the user two
// factors, so enrolment follows the user-create rule: `in_flight` committed first, and a lookup before any
// second attempt.
import { createHash } from 'node:crypto';
import { normalizeTotpSecret } from '../../pipelines/record.ts';
import type { Ledger } from '../../state/ledger.ts';
import type { WorkosApi } from './api.ts';
import { CallFailed, mayHaveLanded, withoutUserSecrets } from './classify.ts';

export interface TotpFactor {
  userKey: string;
  userId: string;
  secret: string;
  /** The account name authenticator apps show: the user's email. */
  account: string | undefined;
  issuer: string | undefined;
}

async function totpFactorIds(api: WorkosApi, userId: string): Promise<string[]> {
  const factors = await api.idempotent('read', () => api.sdk.userManagement.listAuthFactors({ userId }));
  return factors.data.filter((factor) => factor.type === 'totp').map((factor) => factor.id);
}

async function findTotpFactor(api: WorkosApi, userId: string): Promise<string | null> {
  return (await totpFactorIds(api, userId))[0] ?? null;
}

/** Lookups of an enrolment whose answer was lost (lookedForAgain: over about three seconds). */
const LANDED_LOOKUPS = 3;

/**
 * The factor of an enrolment whose answer was lost, if WorkOS lists it: one the user did not have before it (`before`).
 * Null when not listed, or when the lookup failed too: the row fails for the enrolment's reason.
 */
async function landedFactor(api: WorkosApi, userId: string, before: readonly string[]): Promise<string | null> {
  const isNew = async () => (await totpFactorIds(api, userId)).find((id) => !before.includes(id)) ?? null;
  try {
    return await api.lookedForAgain(LANDED_LOOKUPS, isNew);
  } catch (error) {
    if (error instanceof CallFailed) return null;
    throw error;
  }
}

/** Tells two secrets apart without keeping another copy of either; `secret` as the source spells it. */
export function secretHashOf(secret: string): string {
  return createHash('sha256').update(normalizeTotpSecret(secret)).digest('base64url');
}

const SECRET_CHANGED = {
  errorClass: 'permanent',
  code: 'totp_secret_changed',
  message:
    "TOTP factor: the source's secret is not the one an earlier run enrolled, which WorkOS keeps (it cannot be replaced " +
    "here); remove the user's TOTP factor in WorkOS, then run again to enrol the new secret",
  status: null,
} as const;

/**
 * Enrols the factor unless the ledger has it done. `userIsNew`: the user was created by this very call chain,
 * so it cannot have a factor yet; otherwise WorkOS is asked first. `replaced`: the user is another than the one the
 * ledger recorded (deleted since), so the factor the ledger holds is not its.
 */
export async function enrollTotp(api: WorkosApi, ledger: Ledger, factor: TotpFactor, userIsNew: boolean, replaced: boolean): Promise<void> {
  const known = replaced ? undefined : ledger.factor(factor.userKey);
  const secret = normalizeTotpSecret(factor.secret);
  const secretHash = secretHashOf(factor.secret);
  /** The user's factors before this enrolment: none, unless the one the ledger recorded is gone and others are not. */
  let before: string[] = [];
  if (known?.state === 'done') {
    if (known.secretHash === null || known.secretHash === secretHash) return;
    // A user who set up their authenticator again since: enrolling beside the old factor would leave both valid.
    before = await totpFactorIds(api, factor.userId);
    if (known.workosFactorId === null ? before.length > 0 : before.includes(known.workosFactorId)) throw new CallFailed({ ...SECRET_CHANGED });
  } else if (!userIsNew || known?.state === 'in_flight') {
    const existing = await findTotpFactor(api, factor.userId);
    if (existing !== null) {
      // One this writer tried to enrol before it stopped or failed has the secret it tried then (ledgers of older
      // versions kept none for it: this one). Any other was set up some other way, with a secret WorkOS does not
      // show: the source's is the one it stands for, so that a later change of it is told as for one enrolled here.
      const enrolledWith = known?.secretHash ?? secretHash;
      ledger.factorDone(factor.userKey, existing, enrolledWith);
      // The source's secret changed since that try (the user set up their authenticator again): WorkOS holds the old one.
      if (enrolledWith !== secretHash) throw new CallFailed({ ...SECRET_CHANGED });
      return;
    }
  }
  await ledger.claimFactor(factor.userKey, secretHash);
  const request = () =>
    api.sdk.userManagement.enrollAuthFactor({ userId: factor.userId, type: 'totp', totpSecret: secret, totpUser: factor.account, totpIssuer: factor.issuer });
  for (let retry = 0; ; retry++) {
    try {
      const { authenticationFactor } = await api.send('write', request);
      ledger.factorDone(factor.userKey, authenticationFactor.id, secretHash);
      return;
    } catch (error) {
      // Recorded here, in the factor's own row: a secret the server echoed back must not reach the ledger.
      const failure = withoutUserSecrets(api.failureOf(error), { totpSecret: secret });
      // An enrolment that may still be landing (no answer in time, a connection broken once it was sent, a server
      // error: a gateway's 504 while the API behind it goes on) is never sent again in this run: a lookup could miss
      // it, and a second one would give the user two factors (WorkOS keeps both, and nothing refuses the second). It
      // is looked for a few times; not found, it is left for the next run, which looks it up first. Only a call that
      // surely did nothing (refused before it was sent, rate limited) is sent again now.
      const unsure = mayHaveLanded(failure) || (failure.status !== null && failure.status >= 500);
      const landed = unsure ? await landedFactor(api, factor.userId, before) : null;
      if (landed !== null) {
        ledger.factorDone(factor.userKey, landed, secretHash);
        return;
      }
      if (unsure || !(await api.retryAfter(failure, retry, 'write'))) {
        ledger.factorFailed(factor.userKey, failure, secretHash);
        throw new CallFailed({ ...failure, message: `TOTP factor: ${failure.message}` });
      }
    }
  }
}
