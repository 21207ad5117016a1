import { randomBytes } from 'node:crypto';
import { invalidParameters } from './errors.ts';
import { listBody, timestamp, type Handler } from './handler.ts';
import { paginate, type AuthenticationFactor } from './store.ts';
import { userOr404 } from './users.ts';
import { listQueryOf, optionalString } from './validation.ts';

// /user_management/users/{id}/auth_factors: TOTP enrolment (SHA-1, 6 digits, 30 s, Base32 secret) and
// listing (workos-api.md §3, §4). The SDK reads `totp` on every factor, so it is always present.

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32 = /^[A-Z2-7]+=*$/;
const CHALLENGE_LIFETIME_MS = 10 * 60_000;
const DEFAULT_ISSUER = 'WorkOS';
// The emulator draws no QR codes; a 1x1 PNG keeps the field a real base64 PNG data URL.
const QR_CODE_PLACEHOLDER = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function base32(bytes: Buffer): string {
  let text = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return bits > 0 ? text + BASE32_ALPHABET[(value << (5 - bits)) & 31] : text;
}

export const enrollAuthFactor: Handler = (context, { params: [userId = ''], body }) => {
  const user = userOr404(context, userId);
  if (body.type !== 'totp') throw invalidParameters('type', 'type_invalid', "type must be 'totp'.");
  const givenSecret = optionalString(body, 'totp_secret');
  if (givenSecret !== undefined && !BASE32.test(givenSecret.toUpperCase())) {
    throw invalidParameters('totp_secret', 'totp_secret_invalid', 'totp_secret must be a Base32 string.');
  }
  const secret = givenSecret?.toUpperCase() ?? base32(randomBytes(20));
  const issuer = optionalString(body, 'totp_issuer') ?? DEFAULT_ISSUER;
  const account = optionalString(body, 'totp_user') ?? user.email;
  const { store } = context;
  const now = timestamp();
  const factor: AuthenticationFactor = {
    object: 'authentication_factor',
    id: store.newId('auth_factor'),
    type: 'totp',
    user_id: user.id,
    totp: {
      issuer,
      user: account,
      secret,
      qr_code: QR_CODE_PLACEHOLDER,
      uri: `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`,
    },
    created_at: now,
    updated_at: now,
  };
  store.insertAuthFactor(factor);
  const challenge = {
    object: 'authentication_challenge',
    id: store.newId('auth_challenge'),
    authentication_factor_id: factor.id,
    expires_at: new Date(Date.parse(now) + CHALLENGE_LIFETIME_MS).toISOString(),
    created_at: now,
    updated_at: now,
  };
  return { status: 201, body: { authentication_factor: factor, authentication_challenge: challenge } };
};

/** Listed factors carry issuer and user only; the secret is shown once, at enrolment. */
export const listAuthFactors: Handler = (context, { params: [userId = ''], query }) => {
  const user = userOr404(context, userId);
  const page = paginate(context.store.authFactorsOfUser(user.id), listQueryOf(query));
  return { status: 200, body: listBody(page, (factor) => ({ ...factor, totp: { issuer: factor.totp.issuer, user: factor.totp.user } })) };
};
