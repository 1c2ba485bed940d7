import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';
import { openStoreFor } from './store.js';

/**
 * `connectr serve rotate-key`: re-encrypts every stored secret with the current key
 * (CONNECTR_ENCRYPTION_KEY), reading the old ones through CONNECTR_ENCRYPTION_KEYS_OLD. One
 * transaction; running it again changes nothing. Afterwards the old keys can be dropped.
 * Unlike the key commands it is not sent to a running PGlite server: that server reads with the
 * keys it started with, and the rotation is done with this command's.
 */
export async function rotateKey(ctx: CliContext): Promise<void> {
  const [{ rotateEncryption }, { InstanceBusyError }] = await Promise.all([
    import('../../../server/store/rotate.js'),
    import('../../../server/store/instance-lock.js'),
  ]);
  let store;
  try {
    store = await openStoreFor(ctx);
  } catch (error) {
    if (!(error instanceof InstanceBusyError)) throw error;
    throw new ConnectrError(
      'unavailable',
      `cannot rotate the encryption key while \`connectr serve\` (process ${error.pid}) runs on this PGlite database`,
      {
        hint: 'stop the server, run `connectr serve rotate-key`, then start the server again with the same CONNECTR_ENCRYPTION_KEY',
        cause: error,
      },
    );
  }
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
