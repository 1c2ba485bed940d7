import type { CliContext } from '../../context.js';
import { openStoreFor } from './store.js';

/**
 * `connectr serve rotate-key`: re-encrypts every stored secret with the current key
 * (CONNECTR_ENCRYPTION_KEY), reading the old ones through CONNECTR_ENCRYPTION_KEYS_OLD. One
 * transaction; running it again changes nothing. Afterwards the old keys can be dropped.
 */
export async function rotateKey(ctx: CliContext): Promise<void> {
  const { rotateEncryption } = await import('../../../server/store/rotate.js');
  const store = await openStoreFor(ctx);
  let counts;
  try {
    counts = await rotateEncryption(store.db, store.keys);
  } finally {
    await store.close();
  }
  const entries = Object.entries(counts);
  const rewritten = entries.reduce((n, [, c]) => n + c.rewritten, 0);
  const current = entries.reduce((n, [, c]) => n + c.current, 0);
  if (ctx.out.json) {
    ctx.out.printJson({ key_id: store.keys.currentId, rewritten, already_current: current, tables: counts });
    return;
  }
  const perTable = entries.map(([table, c]) => `${table}: ${c.rewritten}`).join(', ');
  ctx.out.info(
    `${ctx.out.style.green('✓')} Re-encrypted ${rewritten} value${rewritten === 1 ? '' : 's'} with key ${store.keys.currentId} (${perTable}); ${current} already used it.`,
  );
  if (rewritten > 0 || current > 0) {
    ctx.out.info(
      'Every stored secret now uses the current key: CONNECTR_ENCRYPTION_KEYS_OLD can be removed.',
    );
  }
}
