import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';

/** STUB, replaced by the store branch (i9-store): `connectr serve keys create|list|revoke`. */

export interface CreateKeyOptions {
  readonly name: string;
  readonly project?: string | undefined;
  readonly allowToken: boolean;
}

export function createKey(_ctx: CliContext, _options: CreateKeyOptions): Promise<void> {
  return Promise.reject(new ConnectrError('internal', 'not built yet'));
}

export function listKeys(
  _ctx: CliContext,
  _options: { readonly project?: string | undefined },
): Promise<void> {
  return Promise.reject(new ConnectrError('internal', 'not built yet'));
}

export function revokeKey(_ctx: CliContext, _idOrPrefix: string): Promise<void> {
  return Promise.reject(new ConnectrError('internal', 'not built yet'));
}
