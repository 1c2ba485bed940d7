import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';

/** STUB, replaced by the store branch (i9-store): `connectr serve rotate-key`. */
export function rotateKey(_ctx: CliContext): Promise<void> {
  return Promise.reject(new ConnectrError('internal', 'not built yet'));
}
