import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { isRecord, parseJson } from './parts.js';

/** How a Pub/Sub push's OIDC token is checked (docs/configuration.md). */
export interface OidcConfig {
  /** The signer's public keys (Google's are at https://www.googleapis.com/oauth2/v3/certs). */
  readonly jwks: { readonly keys: readonly JsonWebKey[] };
  /** The audience the push subscription was configured with. */
  readonly audience: string;
  /** Accepted `iss` values. */
  readonly issuers: readonly string[];
  /** When set, the service account the push must come from (`email`, with `email_verified`). */
  readonly email?: string | undefined;
}

/** The issuers Google's OIDC tokens carry (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions). */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;

/** Clocks differ: this much either way is tolerated on exp, nbf and iat. */
const LEEWAY_SECONDS = 60;
const MAX_TOKEN_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export type JwtFailure =
  'malformed' | 'algorithm' | 'key' | 'signature' | 'issuer' | 'audience' | 'expired' | 'email';

/**
 * Checks a compact JWS signed RS256 (the only algorithm accepted: `none` and HMAC algorithms,
 * which would let a public key serve as a secret, are refused) by a key of the JWKS named by
 * its `kid`, then its issuer, audience, lifetime and, when configured, e-mail.
 */
export function verifyJwt(
  token: string,
  config: OidcConfig,
  nowMs: number,
): { ok: true; claims: Record<string, unknown> } | { ok: false; failure: JwtFailure } {
  const fail = (failure: JwtFailure) => ({ ok: false as const, failure });
  if (token.length > MAX_TOKEN_CHARS) return fail('malformed');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) return fail('malformed');
  const [head = '', body = '', signature = ''] = parts;
  const header = parseJson(Buffer.from(head, 'base64url'));
  const claims = parseJson(Buffer.from(body, 'base64url'));
  if (!isRecord(header) || !isRecord(claims)) return fail('malformed');
  if (header.alg !== 'RS256') return fail('algorithm');
  const kid = header.kid;
  const jwk = config.jwks.keys.find(
    (k) =>
      k.kty === 'RSA' && (kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === 'RS256'),
  );
  if (!jwk) return fail('key');
  let valid: boolean;
  try {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    valid = verify('RSA-SHA256', Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url'));
  } catch {
    return fail('key');
  }
  if (!valid) return fail('signature');
  if (typeof claims.iss !== 'string' || !config.issuers.includes(claims.iss)) return fail('issuer');
  const aud = claims.aud;
  if (!(aud === config.audience || (Array.isArray(aud) && aud.includes(config.audience))))
    return fail('audience');
  const now = nowMs / 1000;
  const exp = claims.exp;
  if (typeof exp !== 'number' || exp + LEEWAY_SECONDS < now) return fail('expired');
  const nbf = claims.nbf ?? claims.iat;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - LEEWAY_SECONDS > now)) return fail('expired');
  if (config.email !== undefined && (claims.email !== config.email || claims.email_verified !== true)) {
    return fail('email');
  }
  return { ok: true, claims };
}
