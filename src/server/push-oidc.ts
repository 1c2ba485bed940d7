import { readFileSync } from 'node:fs';
import type { JsonWebKey } from 'node:crypto';
import { ConnectrError } from '../core/errors.js';
import { GOOGLE_ISSUERS, type OidcConfig } from '../core/provider-events/jwt.js';
import type { ServerSettings } from './settings.js';

/** The largest JWKS file read (Google's holds two or three keys, a few kilobytes). */
const MAX_JWKS_BYTES = 256 * 1024;

/**
 * The OIDC check of Gmail's Pub/Sub pushes, from CONNECTR_GMAIL_PUSH_*: undefined when not
 * configured (the token in the push URL is checked instead); read once at start, and a
 * half-given or unreadable configuration stops the start naming the variable.
 */
export function gmailPushOidc(
  settings: Pick<
    ServerSettings,
    'CONNECTR_GMAIL_PUSH_AUDIENCE' | 'CONNECTR_GMAIL_PUSH_JWKS_FILE' | 'CONNECTR_GMAIL_PUSH_EMAIL'
  >,
): OidcConfig | undefined {
  const audience = settings.CONNECTR_GMAIL_PUSH_AUDIENCE;
  const file = settings.CONNECTR_GMAIL_PUSH_JWKS_FILE;
  if (audience === undefined && file === undefined) return undefined;
  if (audience === undefined || file === undefined) {
    throw new ConnectrError(
      'usage',
      'CONNECTR_GMAIL_PUSH_AUDIENCE and CONNECTR_GMAIL_PUSH_JWKS_FILE go together',
      {
        hint: `set ${audience === undefined ? 'CONNECTR_GMAIL_PUSH_AUDIENCE' : 'CONNECTR_GMAIL_PUSH_JWKS_FILE'} too, or neither`,
      },
    );
  }
  let keys: unknown;
  try {
    const text = readFileSync(file);
    if (text.length > MAX_JWKS_BYTES) throw new Error(`larger than ${String(MAX_JWKS_BYTES)} bytes`);
    keys = (JSON.parse(text.toString('utf8')) as { keys?: unknown }).keys;
  } catch (error) {
    throw new ConnectrError(
      'usage',
      `CONNECTR_GMAIL_PUSH_JWKS_FILE: cannot read a JWKS from it (${(error as Error).message})`,
      {
        hint: 'give a JSON file {"keys": [...]}, e.g. https://www.googleapis.com/oauth2/v3/certs saved',
      },
    );
  }
  const rsa = Array.isArray(keys)
    ? (keys as unknown[]).filter(
        (k): k is JsonWebKey =>
          k !== null &&
          typeof k === 'object' &&
          (k as JsonWebKey).kty === 'RSA' &&
          typeof (k as JsonWebKey).n === 'string',
      )
    : [];
  if (rsa.length === 0) {
    throw new ConnectrError('usage', 'CONNECTR_GMAIL_PUSH_JWKS_FILE: the JWKS has no RSA key', {
      hint: "Pub/Sub signs its tokens RS256: give the JWKS of Google's keys",
    });
  }
  return {
    jwks: { keys: rsa },
    audience,
    issuers: [...GOOGLE_ISSUERS],
    ...(settings.CONNECTR_GMAIL_PUSH_EMAIL === undefined
      ? {}
      : { email: settings.CONNECTR_GMAIL_PUSH_EMAIL }),
  };
}
