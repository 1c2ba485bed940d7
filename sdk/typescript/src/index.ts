export {
  ConnectrClient,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_TIMEOUT_MS,
  errorFromResponse,
  parseRetryAfter,
} from './client.js';
export type { ClientOptions, FetchLike, ProxyBody, ProxyOptions, RequestOptions, Sleep } from './client.js';
export { openConnect } from './connect.js';
export type {
  ConnectEvent,
  ConnectHandle,
  ConnectMessage,
  ConnectPopup,
  ConnectWindow,
  OpenConnectOptions,
} from './connect.js';
export { LocalClient } from './local.js';
export type { LocalClientOptions, LocalEngineModule } from './local.js';
export * from './errors.js';
export { WebhookVerificationError, verifyWebhook } from './webhooks.js';
export type {
  ConnectionEventType,
  SubscribableEventType,
  ProviderWebhookEvent,
  ConnectionWebhookEvent,
  NeedsReauthReason,
  WebhookEvent,
  WebhookEventType,
  WebhookHeaders,
  WebhookTestEvent,
} from './webhooks.js';
export type * from './types.js';
export * from './connectors/index.js';
