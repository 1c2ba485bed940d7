import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConnectrError } from '../../core/errors.js';
import type { ApiKeyVerifier, ServerData } from '../contracts.js';
import type { ApiKeyInfo, CreatedApiKey } from '../store/api-keys.js';
import { createApiKey, hashOf, listApiKeys, revokeApiKey } from '../store/api-keys.js';
import type { ConsoleSummary } from '../store/console-sessions.js';
import {
  consoleSummary,
  deleteConsoleRow,
  findConsoleSession,
  insertConsoleRow,
  purgeConsoleRows,
  takeConsoleLink,
} from '../store/console-sessions.js';
import type { Db } from '../store/db.js';
import { guard } from '../store/open.js';
import { DEFAULT_PROJECT, ensureProject, findProject } from '../store/projects.js';

/**
 * The admin console's sign-in and what its pages change: a session is a random token (256
 * bits) in an HttpOnly cookie, its SHA-256 in the database; its CSRF token is derived from it
 * (an HMAC keyed by the token), so a page that cannot read the cookie cannot forge one, and
 * nothing more is stored. A `serve console` link is another random token, good once for a minute.
 */

export type { ApiKeyInfo, CreatedApiKey } from '../store/api-keys.js';
export type { ConsoleSummary } from '../store/console-sessions.js';

export const CONSOLE_SESSION_MS = 12 * 60 * 60 * 1000;
export const CONSOLE_LINK_MS = 60 * 1000;

export interface ConsoleSession {
  readonly projectId: string;
  readonly apiKeyId: string | null;
  /** The hidden field every form of this session carries. */
  readonly csrf: string;
}

const newToken = (): string => randomBytes(32).toString('base64url');
const hashHex = (token: string): string => hashOf(token).toString('hex');
/** Tokens are base64url of 32 bytes; anything else is not looked up. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function csrfOf(token: string): string {
  return createHmac('sha256', token).update('connectr console csrf').digest('base64url');
}

/** Constant-time comparison of a form's token with the expected one. */
export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A session for the project of a valid project key; undefined for anything else. */
export async function signInWithKey(
  data: ServerData,
  verifier: ApiKeyVerifier,
  secret: string,
  now: Date,
): Promise<{ token: string; expiresAt: Date } | undefined> {
  const identity = secret.length > 200 ? undefined : await verifier.verify(secret.trim());
  if (identity?.scope !== 'project') return undefined;
  return startSession(data, identity.projectId, identity.keyId, now);
}

async function startSession(
  data: ServerData,
  projectId: string,
  apiKeyId: string | null,
  now: Date,
): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken();
  const expiresAt = new Date(now.getTime() + CONSOLE_SESSION_MS);
  await guard(data.database, async () => {
    // Old rows go as new ones come: no task of its own.
    await purgeConsoleRows(data.db, now);
    await insertConsoleRow(data.db, {
      tokenHash: hashHex(token),
      kind: 'session',
      projectId,
      apiKeyId,
      expiresAt,
      now,
    });
  });
  return { token, expiresAt };
}

export async function consoleSession(
  data: ServerData,
  token: string | undefined,
  now: Date,
): Promise<ConsoleSession | undefined> {
  if (token === undefined || !TOKEN.test(token)) return undefined;
  const row = await guard(data.database, () => findConsoleSession(data.db, hashHex(token), now));
  return row && { projectId: row.projectId, apiKeyId: row.apiKeyId, csrf: csrfOf(token) };
}

export async function signOut(data: ServerData, token: string | undefined): Promise<void> {
  if (token === undefined || !TOKEN.test(token)) return;
  await guard(data.database, () => deleteConsoleRow(data.db, hashHex(token)));
}

/**
 * The address of a one-time sign-in link: its token in a query parameter the daemon's log
 * redacts (plugins/logging.ts SECRET_QUERY), though it is good only once and for a minute.
 */
export function consoleLinkUrl(base: string, token: string): string {
  return `${base}/console/link?token=${encodeURIComponent(token)}`;
}

/**
 * A one-time sign-in link's token for a project (by name; the default project when none),
 * minted by `connectr serve console` through the control channel or on the database itself.
 */
export async function mintConsoleLink(db: Db, projectName: string | undefined, now: Date): Promise<string> {
  const name = projectName ?? DEFAULT_PROJECT;
  const project =
    projectName === undefined ? (await ensureProject(db, name)).project : await findProject(db, name);
  if (!project) {
    throw new ConnectrError('not_found', `no project "${name}"`, {
      hint: '`connectr serve keys list` shows the projects that have keys',
    });
  }
  const token = newToken();
  await insertConsoleRow(db, {
    tokenHash: hashHex(token),
    kind: 'link',
    projectId: project.id,
    apiKeyId: null,
    expiresAt: new Date(now.getTime() + CONSOLE_LINK_MS),
    now,
  });
  return token;
}

/** Exchanges a link's token (once, within its minute) for a session; undefined when it cannot be. */
export async function exchangeConsoleLink(
  data: ServerData,
  token: string,
  now: Date,
): Promise<{ token: string; expiresAt: Date } | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const link = await guard(data.database, () => takeConsoleLink(data.db, hashHex(token), now));
  return link && startSession(data, link.projectId, null, now);
}

export function listProjectKeys(data: ServerData, projectId: string): Promise<ApiKeyInfo[]> {
  return guard(data.database, () => listApiKeys(data.db, projectId));
}

export function createProjectKey(data: ServerData, projectId: string, name: string): Promise<CreatedApiKey> {
  if (name.length > 200) {
    throw new ConnectrError('invalid_input', 'a key name has at most 200 characters');
  }
  return guard(data.database, () => createApiKey(data.db, { projectId, name }));
}

/** Revokes one of the project's keys (by id) and drops it from every instance's cache at once. */
export async function revokeProjectKey(
  data: ServerData,
  projectId: string,
  keyId: string,
): Promise<ApiKeyInfo> {
  const key = await guard(data.database, async () => {
    const own = (await listApiKeys(data.db, projectId)).find((k) => k.id === keyId);
    if (!own) throw new ConnectrError('not_found', 'no such API key in this project');
    return (await revokeApiKey(data.db, own.id)).key;
  });
  await data.caches.notices.changed({ cache: 'api_keys', key: key.id });
  return key;
}

export function projectSummary(data: ServerData, projectId: string, since: Date): Promise<ConsoleSummary> {
  return guard(data.database, () => consoleSummary(data.db, projectId, since));
}
