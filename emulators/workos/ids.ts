import { randomInt } from 'node:crypto';

// WorkOS ids are a prefix and a ULID: 10 Crockford base32 characters of millisecond time, then 16 of
// randomness. Ids made in the same millisecond increment the randomness instead of drawing it again,
// so ids sort in creation order (as ULIDs do) and minting one costs no crypto call on a busy write path.

export type IdPrefix = 'user' | 'org' | 'org_domain' | 'om' | 'auth_factor' | 'auth_challenge';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const FORTY_BITS = 2 ** 40;

function encode(value: number, length: number): string {
  let text = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    text = CROCKFORD[rest % 32] + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

export type IdFactory = (prefix: IdPrefix) => string;

export function createIdFactory(): IdFactory {
  let lastMs = -1;
  let high = 0;
  let low = 0;
  return (prefix) => {
    const now = Date.now();
    if (now > lastMs) {
      lastMs = now;
      high = randomInt(FORTY_BITS);
      low = randomInt(FORTY_BITS);
    } else if (++low === FORTY_BITS) {
      low = 0;
      high = (high + 1) % FORTY_BITS;
    }
    return `${prefix}_${encode(lastMs, 10)}${encode(high, 8)}${encode(low, 8)}`;
  };
}
