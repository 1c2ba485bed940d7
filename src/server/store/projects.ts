import { eq } from 'drizzle-orm';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { projects } from './schema.js';

/** The project keys are created in when none is named. */
export const DEFAULT_PROJECT = 'default';

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

export async function findProject(db: Db, name: string): Promise<Project | undefined> {
  const [row] = await db.select().from(projects).where(eq(projects.name, name));
  return row;
}

/** The project called `name`, created when missing (at once by any number of callers). */
export async function ensureProject(db: Db, name: string): Promise<{ project: Project; created: boolean }> {
  const inserted = await db
    .insert(projects)
    .values({ id: newId('prj'), name })
    .onConflictDoNothing({ target: projects.name })
    .returning();
  const [row] = inserted;
  if (row) return { project: row, created: true };
  const existing = await findProject(db, name);
  if (!existing) throw new Error(`project ${name} vanished while being created`);
  return { project: existing, created: false };
}
