import type { KeyRing } from '../crypto.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { providerSubscriptions } from './schema.js';

/** The subscriptions connectr made at providers for connections (Graph, Gmail's watch). */

export const clientStateContext = (subscriptionRowId: string): string =>
  `provider_subscriptions.client_state:${subscriptionRowId}`;

export interface NewSubscription {
  readonly projectId: string;
  readonly connectionId: string;
  readonly connector: string;
  readonly subscriptionId: string;
  readonly resource: string;
  readonly clientState?: string | undefined;
  readonly expiresAt: Date;
}

/** Records a subscription made at the provider, its client state sealed to its row. */
export async function putSubscription(
  db: Db,
  keys: KeyRing,
  input: NewSubscription,
  now = new Date(),
): Promise<string> {
  const id = newId('sub');
  await db.insert(providerSubscriptions).values({
    id,
    projectId: input.projectId,
    connectionId: input.connectionId,
    connector: input.connector,
    subscriptionId: input.subscriptionId,
    resource: input.resource,
    clientStateEncrypted:
      input.clientState === undefined ? null : keys.encrypt(input.clientState, clientStateContext(id)),
    expiresAt: input.expiresAt,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}
