import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `bytes` random bytes in lowercase base32 (RFC 4648 alphabet, no padding): safe in URLs and names. */
export function randomBase32(bytes: number): string {
  const data = randomBytes(bytes);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((buffer >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out;
}

export type IdPrefix = 'prj' | 'key' | 'app' | 'conn' | 'oas' | 'wh' | 'msg' | 'sub' | 'cns';

/** A new row id: the kind, then 128 random bits (`conn_…`); never sequential, never guessable. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase32(16)}`;
}
