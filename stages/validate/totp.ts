// TOTP secrets carried over from the source: WorkOS enrols only a Base32 secret, and refuses any other after the user
// is created, which leaves the row half written. A secret held back in the ledger (a row exported for fixing) is fine.
import { normalizeTotpSecret, type Envelope } from '../../pipelines/record.ts';
import { SECRET_IN_LEDGER } from '../../state/replay.ts';
import { addIssue, type ValidationRule } from './rule.ts';

/** RFC 4648 Base32, optionally padded: what WorkOS takes, once upper-cased and without spaces (normalizeTotpSecret). */
const BASE32 = /^([A-Z2-7]+)=*$/;
/** Characters after the last whole group of eight: 1, 3 or 6 of them end in part of a byte, which no secret does. */
const DECODABLE_REMAINDERS = new Set([0, 2, 4, 5, 7]);

/** Whether the secret is Base32 that decodes. Padding, often cut or miscounted by hand, is not counted. */
function isBase32(secret: string): boolean {
  const characters = BASE32.exec(secret)?.[1];
  return characters !== undefined && DECODABLE_REMAINDERS.has(characters.length % 8);
}

function checkTotp(envelope: Envelope): void {
  const secret = envelope.user.totpSecret;
  if (secret === undefined || secret === SECRET_IN_LEDGER || isBase32(normalizeTotpSecret(secret))) return;
  // The secret itself stays out of the message, like a password hash.
  addIssue(envelope, 'error', 'totp.invalid', 'totpSecret', 'the TOTP secret is not Base32 (A-Z and 2-7, of a length that decodes), which WorkOS requires');
}

export const totpRule: ValidationRule = {
  name: 'totp',
  start: () => ({ check: checkTotp }),
};
