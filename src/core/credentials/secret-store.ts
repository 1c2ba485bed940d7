/** Where secrets (tokens, client secrets, API keys) are kept. Metadata never goes here. */
export type StoreKind = 'keychain' | 'encrypted-file' | 'plaintext-file';

export interface SecretStore {
  readonly kind: StoreKind;
  /** Where the secrets are, in words, for messages: "system keychain (Secret Service)". */
  readonly location: string;
  get(service: string, account: string): Promise<string | null>;
  set(service: string, account: string, secret: string): Promise<void>;
  /** True when something was deleted. */
  delete(service: string, account: string): Promise<boolean>;
}

/** Keychain service names: one entry per connector account, one per saved OAuth app. */
export const accountService = (connector: string): string => `connectr:${connector}`;
export const appService = (connector: string): string => `connectr-app:${connector}`;

/** The key of one secret in connectr's file stores. */
export const entryKey = (service: string, account: string): string => JSON.stringify([service, account]);
