/** The subscriptions connectr made at providers for connections (Graph, Gmail's watch). */

export const clientStateContext = (subscriptionRowId: string): string =>
  `provider_subscriptions.client_state:${subscriptionRowId}`;
