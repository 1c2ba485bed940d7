import { ConnectrError } from '../../../core/errors.js';
import type { Database } from '../../../server/store/db.js';
import type { CliContext } from '../../context.js';
import { table } from '../../output.js';

/**
 * `connectr serve keys create|list|revoke`: API keys, straight in the server's database (the
 * servers need not run; with PostgreSQL they may). Keys are hashed, so none needs the
 * encryption key, and a created key is printed once: nothing can show it again.
 */

export interface CreateKeyFlags {
  name: string;
  project?: string | undefined;
  allowToken?: boolean | undefined;
}

async function withDatabase<T>(ctx: CliContext, fn: (database: Database) => Promise<T>): Promise<T> {
  const { openDatabase } = await import('../../../server/store/db.js');
  const { guard } = await import('../../../server/store/open.js');
  const database = await openDatabase({ env: ctx.env, dataDir: ctx.paths.dataDir });
  try {
    return await guard(database, () => fn(database));
  } finally {
    await database.close();
  }
}

export async function createKey(ctx: CliContext, flags: CreateKeyFlags): Promise<void> {
  const { ensureProject, DEFAULT_PROJECT } = await import('../../../server/store/projects.js');
  const { createApiKey } = await import('../../../server/store/api-keys.js');
  const projectName = checkProjectName(flags.project ?? DEFAULT_PROJECT);
  const { key, createdProject } = await withDatabase(ctx, async ({ db }) => {
    const { project, created } = await ensureProject(db, projectName);
    return {
      key: await createApiKey(db, { projectId: project.id, name: flags.name, allowToken: flags.allowToken }),
      createdProject: created,
    };
  });
  if (createdProject) ctx.out.info(`Created project ${projectName}.`);
  if (ctx.out.json) {
    ctx.out.printJson({
      id: key.id,
      prefix: key.prefix,
      name: key.name,
      project: projectName,
      allow_token: key.allowToken,
      created_at: key.createdAt.toISOString(),
      key: key.secret,
    });
    return;
  }
  ctx.out.info(
    `${ctx.out.style.green('✓')} Created API key "${key.name}" (${key.id}, prefix ${key.prefix}) in project ${projectName}${key.allowToken ? ', allowed to read access tokens' : ''}.`,
  );
  ctx.out.line(key.secret);
  ctx.out.info('It is shown only now: store it safely. Send it as `Authorization: Bearer <key>`.');
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

export async function listKeys(ctx: CliContext, flags: { project?: string | undefined }): Promise<void> {
  const { findProject } = await import('../../../server/store/projects.js');
  const { listApiKeys } = await import('../../../server/store/api-keys.js');
  const keys = await withDatabase(ctx, async ({ db }) => {
    if (flags.project === undefined) return listApiKeys(db);
    const project = await findProject(db, flags.project);
    if (!project) {
      throw new ConnectrError('not_found', `no project "${flags.project}"`, {
        hint: '`connectr serve keys list` without --project shows every key and its project',
      });
    }
    return listApiKeys(db, project.id);
  });
  if (ctx.out.json) {
    ctx.out.printJson(
      keys.map((k) => ({
        id: k.id,
        prefix: k.prefix,
        name: k.name,
        project: k.project,
        allow_token: k.allowToken,
        created_at: k.createdAt.toISOString(),
        last_used_at: k.lastUsedAt?.toISOString() ?? null,
        revoked_at: k.revokedAt?.toISOString() ?? null,
      })),
    );
    return;
  }
  if (keys.length === 0) {
    ctx.out.info('No API keys. Create one with `connectr serve keys create --name <name>`.');
    return;
  }
  const day = (d: Date | null): string => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '-');
  ctx.out.line(
    table(
      keys,
      [
        { header: 'ID', value: (k) => k.id },
        { header: 'PREFIX', value: (k) => k.prefix },
        { header: 'NAME', value: (k) => k.name, shrink: true },
        { header: 'PROJECT', value: (k) => k.project },
        { header: 'TOKEN', value: (k) => (k.allowToken ? 'yes' : 'no') },
        { header: 'CREATED', value: (k) => day(k.createdAt) },
        { header: 'LAST USED', value: (k) => day(k.lastUsedAt) },
        { header: 'REVOKED', value: (k) => day(k.revokedAt) },
      ],
      ctx.io.columns,
      ctx.out.style,
    ),
  );
}

export async function revokeKey(ctx: CliContext, idOrPrefix: string): Promise<void> {
  const { revokeApiKey } = await import('../../../server/store/api-keys.js');
  const { key, alreadyRevoked } = await withDatabase(ctx, ({ db }) => revokeApiKey(db, idOrPrefix));
  if (ctx.out.json) {
    ctx.out.printJson({
      id: key.id,
      prefix: key.prefix,
      name: key.name,
      project: key.project,
      revoked_at: key.revokedAt?.toISOString() ?? null,
      already_revoked: alreadyRevoked,
    });
    return;
  }
  ctx.out.info(
    alreadyRevoked
      ? `API key "${key.name}" (${key.prefix}) was already revoked.`
      : `${ctx.out.style.green('✓')} Revoked API key "${key.name}" (${key.prefix}); requests with it now get 401.`,
  );
}
