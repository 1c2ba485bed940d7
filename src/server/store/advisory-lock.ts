import { sql } from 'drizzle-orm';
import type { Db } from './db.js';

/**
 * Takes advisory lock `key` for transaction `tx`, without waiting: true when this instance got
 * it (held until `tx` ends), false when another instance holds it. Each background task has its
 * own constant key, the same in every instance.
 */
export async function tryAdvisoryLock(tx: Db, key: number): Promise<boolean> {
  const result: unknown = await tx.execute(sql`select pg_try_advisory_xact_lock(${key}) as got`);
  // node-postgres and PGlite both answer { rows }; the query builder types it as unknown.
  const rows = typeof result === 'object' && result !== null && 'rows' in result ? result.rows : undefined;
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  return typeof first === 'object' && first !== null && 'got' in first && first.got === true;
}
