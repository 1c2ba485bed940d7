import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JsonPath } from '../connector/schema.js';
import { jsonTextTooDeep } from '../json-depth.js';
import { pathKeys } from '../json-path.js';
import type { PushRequest, SigningSecret } from './types.js';

/**
 * The largest push body read. GitHub caps its payloads at 25 MB, but an event of connectr's
 * providers is a few kilobytes; a body this large is refused before any signature is computed.
 */
export const MAX_PUSH_BYTES = 1024 * 1024;
/** At most this many account keys per event: a hostile payload cannot make attribution costly. */
export const MAX_ACCOUNT_KEYS = 100;
/** A handshake token (challenge, validationToken) longer than this is not echoed. */
export const MAX_HANDSHAKE_CHARS = 2048;

/** The one value of a header; a repeated header is refused (a proxy may have joined two). */
export function header(request: PushRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function hmacHex(secret: string, ...parts: readonly (string | Buffer)[]): string {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
}

/** Whether two strings are equal, in time that does not depend on where they differ. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The owners whose secret signs the push as `given` says: every secret is tried (the time does
 * not tell which failed), and projects that registered the same provider app all get the push.
 */
export function signers(
  secrets: readonly SigningSecret[],
  given: string,
  sign: (secret: string) => string,
): string[] {
  const owners = new Set<string>();
  for (const candidate of secrets) if (sameText(sign(candidate.secret), given)) owners.add(candidate.owner);
  return [...owners];
}

/** The body as JSON, or undefined when it is not UTF-8 JSON within the depth bound. */
export function parseJson(body: Buffer | string): unknown {
  let text: string;
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
  if (jsonTextTooDeep(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The string at `key` of `value`, own properties only. */
export function textAt(value: unknown, key: string): string | undefined {
  if (!isRecord(value) || !Object.hasOwn(value, key)) return undefined;
  const found = value[key];
  return typeof found === 'string' ? found : undefined;
}

/**
 * Every key found at `paths` in `payload`: a path through a list reaches into each element;
 * strings and integers count (Slack's T0123, GitHub's numeric ids), anything else is skipped.
 */
export function accountKeys(payload: unknown, paths: readonly JsonPath[]): string[] {
  const keys = new Set<string>();
  const add = (value: unknown): void => {
    if (keys.size >= MAX_ACCOUNT_KEYS) return;
    if (typeof value === 'string' && value !== '') keys.add(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) keys.add(String(value));
  };
  for (const path of paths) {
    let level: unknown[] = [payload];
    for (const key of pathKeys(path)) {
      const next: unknown[] = [];
      for (const value of level.flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v]))) {
        if (isRecord(value) && Object.hasOwn(value, key)) next.push(value[key]);
        if (next.length > MAX_ACCOUNT_KEYS) break;
      }
      level = next;
    }
    for (const value of level) {
      if (Array.isArray(value)) (value as unknown[]).slice(0, MAX_ACCOUNT_KEYS).forEach(add);
      else add(value);
    }
  }
  return [...keys];
}

/** A handshake token fit to echo: present, bounded, and printable. */
export function echoable(token: string | null | undefined): token is string {
  return (
    typeof token === 'string' &&
    token.length > 0 &&
    token.length <= MAX_HANDSHAKE_CHARS &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f]/.test(token)
  );
}
