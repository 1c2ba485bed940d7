import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import { ConnectrError } from '../../core/errors.js';
import type { ApiKeyIdentity, ApiKeyScope } from '../contracts.js';
import type { Db } from './db.js';
import { newId, randomBase32 } from './ids.js';
import { apiKeys, projects } from './schema.js';

/**
 * API keys: `cnr_<prefix>_<secret>`. The prefix (8 base32 characters) is public: it finds the
 * row and names the key in `keys list`. The whole key carries 256 random bits and only its
 * SHA-256 is stored, so the database (or a backup of it) gives no usable key. A fast hash is
 * right here: the key is random, not a password, so there is nothing to guess.
 */

const KEY_PATTERN = /^cnr_([a-z2-7]{8})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most this often per key: not one write per request. */
const LAST_USED_EVERY_MS = 60_000;

export interface CreatedApiKey {
  readonly id: string;
  readonly prefix: string;
  readonly name: string;
  readonly projectId: string;
  readonly allowToken: boolean;
  readonly scope: ApiKeyScope;
  readonly createdAt: Date;
  /** The key itself: shown once, never stored. */
  readonly secret: string;
}

export interface ApiKeyInfo {
  readonly id: string;
  readonly prefix: string;
  readonly name: string;
  readonly projectId: string;
  readonly project: string;
  readonly allowToken: boolean;
  readonly scope: ApiKeyScope;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** SHA-256 of the key (UTF-8). Taken on every request: the one-shot `hash` costs a fifth of a Hash object's. */
export function hashOf(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

export async function createApiKey(
  db: Db,
  input: {
    projectId: string;
    name: string;
    allowToken?: boolean | undefined;
    scope?: ApiKeyScope | undefined;
  },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (!name) {
    throw new ConnectrError('invalid_input', 'an API key needs a name', {
      hint: 'pass --name, e.g. --name ci',
    });
  }
  const scope = input.scope ?? 'project';
  if (scope === 'metrics' && input.allowToken === true) {
    throw new ConnectrError(
      'invalid_input',
      'a metrics key cannot be allowed to read tokens: it reaches no project',
      {
        hint: 'drop --allow-token, or create a project key (without --scope metrics) for reading tokens',
      },
    );
  }
  // A prefix collision (1 in 2^40 per pair) only costs a retry.
  for (let attempt = 0; ; attempt++) {
    const prefix = randomBase32(5);
    const secret = `cnr_${prefix}_${randomBytes(32).toString('base64url')}`;
    const rows = await db
      .insert(apiKeys)
      .values({
        id: newId('key'),
        projectId: input.projectId,
        name,
        prefix,
        secretHash: hashOf(secret).toString('hex'),
        allowToken: input.allowToken === true,
        scope,
      })
      .onConflictDoNothing({ target: apiKeys.prefix })
      .returning();
    const row = rows[0];
    if (row) {
      return {
        id: row.id,
        prefix: row.prefix,
        name: row.name,
        projectId: row.projectId,
        allowToken: row.allowToken,
        scope: row.scope,
        createdAt: row.createdAt,
        secret,
      };
    }
    if (attempt >= 5) throw new Error('could not find a free API key prefix');
  }
}

/** The identity behind a key, or undefined for anything else (unknown, malformed, revoked). */
export async function verifyApiKey(
  db: Db,
  secret: string,
  now = new Date(),
): Promise<ApiKeyIdentity | undefined> {
  const match = KEY_PATTERN.exec(secret);
  const given = hashOf(secret);
  if (!match?.[1]) return undefined;
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.prefix, match[1]));
  // Compared in constant time, and compared at all when no row matched, so the answer's timing
  // says nothing about the stored hash.
  const stored = row ? Buffer.from(row.secretHash, 'hex') : Buffer.alloc(given.length);
  const equal = stored.length === given.length && timingSafeEqual(stored, given);
  if (!row || !equal || row.revokedAt) return undefined;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_EVERY_MS) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(
        and(
          eq(apiKeys.id, row.id),
          or(
            isNull(apiKeys.lastUsedAt),
            lt(apiKeys.lastUsedAt, new Date(now.getTime() - LAST_USED_EVERY_MS)),
          ),
        ),
      );
  }
  return { keyId: row.id, projectId: row.projectId, allowToken: row.allowToken, scope: row.scope };
}

const infoColumns = {
  id: apiKeys.id,
  prefix: apiKeys.prefix,
  name: apiKeys.name,
  projectId: apiKeys.projectId,
  project: projects.name,
  allowToken: apiKeys.allowToken,
  scope: apiKeys.scope,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

/** Every key (of one project when given), newest first; never the secret, which is not stored. */
export async function listApiKeys(db: Db, projectId?: string): Promise<ApiKeyInfo[]> {
  const query = db.select(infoColumns).from(apiKeys).innerJoin(projects, eq(projects.id, apiKeys.projectId));
  const rows = await (projectId ? query.where(eq(apiKeys.projectId, projectId)) : query).orderBy(
    desc(apiKeys.createdAt),
    desc(apiKeys.id),
  );
  return rows;
}

/**
 * Revokes the key with this id (`key_…`), prefix, or `cnr_<prefix>` start. Revoking a revoked
 * key changes nothing and says so (`alreadyRevoked`).
 */
export async function revokeApiKey(
  db: Db,
  idOrPrefix: string,
  now = new Date(),
): Promise<{ key: ApiKeyInfo; alreadyRevoked: boolean }> {
  const wanted = idOrPrefix.trim();
  const fromKey = /^cnr_([a-z2-7]{8})(?:_.*)?$/.exec(wanted)?.[1];
  const prefix = fromKey ?? wanted;
  const [found] = await db
    .select(infoColumns)
    .from(apiKeys)
    .innerJoin(projects, eq(projects.id, apiKeys.projectId))
    .where(or(eq(apiKeys.id, wanted), eq(apiKeys.prefix, prefix)));
  if (!found) {
    // Someone may paste a whole key: never repeat more than its prefix.
    const shown = fromKey ? `cnr_${fromKey}` : wanted;
    throw new ConnectrError('not_found', `no API key with id or prefix "${shown}"`, {
      hint: '`connectr serve keys list` shows the keys',
    });
  }
  if (found.revokedAt) return { key: found, alreadyRevoked: true };
  await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, found.id), isNull(apiKeys.revokedAt)));
  return { key: { ...found, revokedAt: now }, alreadyRevoked: false };
}
