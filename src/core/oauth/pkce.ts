import { createHash, randomBytes } from 'node:crypto';

/** Unguessable URL-safe text for `state` and PKCE verifiers (32 bytes = 43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
  readonly method: 'S256';
}

export function createPkce(): Pkce {
  const verifier = randomToken(32);
  return { verifier, challenge: codeChallenge(verifier), method: 'S256' };
}
