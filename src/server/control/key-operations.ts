import { ConnectrError } from '../../core/errors.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../store/api-keys.js';
import type { Db } from '../store/db.js';
import { DEFAULT_PROJECT, ensureProject, findProject } from '../store/projects.js';
import type { KeyAnswers, KeyOp, KeyRequest, KeyRequestOf } from './protocol.js';

/**
 * The key operations of `connectr serve keys`, once: run by the command on the database
 * itself, and by the daemon for a command that reached it over the control channel. Both
 * answer in the same shape, so the command prints the same either way.
 */

export interface KeyEffects {
  /**
   * Told of a key revoked (or found revoked): the daemon drops what its cache holds of it; on
   * PostgreSQL every instance is told (store/notify.ts). Awaited before the answer.
   */
  readonly revoked?: ((keyId: string) => void | Promise<void>) | undefined;
}

export async function runKeyRequest<Op extends KeyOp>(
  db: Db,
  request: KeyRequestOf<Op>,
  effects: KeyEffects = {},
): Promise<KeyAnswers[Op]> {
  // Each branch answers for its own op; TypeScript cannot narrow Op from request.op.
  const answer = await run(db, request, effects);
  return answer as KeyAnswers[Op];
}

async function run(db: Db, request: KeyRequest, effects: KeyEffects): Promise<KeyAnswers[KeyOp]> {
  switch (request.op) {
    case 'create': {
      const projectName = checkProjectName(request.project ?? DEFAULT_PROJECT);
      const { project, created } = await ensureProject(db, projectName);
      const key = await createApiKey(db, {
        projectId: project.id,
        name: request.name,
        allowToken: request.allow_token,
        scope: request.scope,
      });
      return {
        id: key.id,
        prefix: key.prefix,
        name: key.name,
        project: projectName,
        allow_token: key.allowToken,
        scope: key.scope,
        created_at: key.createdAt.toISOString(),
        key: key.secret,
        created_project: created,
      };
    }
    case 'list': {
      let projectId: string | undefined;
      if (request.project !== undefined) {
        const project = await findProject(db, request.project);
        if (!project) {
          throw new ConnectrError('not_found', `no project "${request.project}"`, {
            hint: '`connectr serve keys list` without --project shows every key and its project',
          });
        }
        projectId = project.id;
      }
      return (await listApiKeys(db, projectId)).map((k) => ({
        id: k.id,
        prefix: k.prefix,
        name: k.name,
        project: k.project,
        allow_token: k.allowToken,
        scope: k.scope,
        created_at: k.createdAt.toISOString(),
        last_used_at: k.lastUsedAt?.toISOString() ?? null,
        revoked_at: k.revokedAt?.toISOString() ?? null,
      }));
    }
    case 'revoke': {
      const { key, alreadyRevoked } = await revokeApiKey(db, request.id_or_prefix);
      await effects.revoked?.(key.id);
      return {
        id: key.id,
        prefix: key.prefix,
        name: key.name,
        project: key.project,
        revoked_at: key.revokedAt?.toISOString() ?? null,
        already_revoked: alreadyRevoked,
      };
    }
  }
}

function checkProjectName(name: string): string {
  const trimmed = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(trimmed)) {
    throw new ConnectrError('invalid_input', `"${name}" is not a project name`, {
      hint: 'use letters, digits, ".", "_" and "-" (at most 63 characters), e.g. --project staging',
    });
  }
  return trimmed;
}
