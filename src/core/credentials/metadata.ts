import { join } from 'node:path';
import { JsonDb } from '../fs/json-db.js';
import type { FileShape } from '../fs/json-db.js';
import type { ConnectrPaths } from '../paths.js';
import type { StoreKind } from './secret-store.js';

/**
 * Non-secret facts about accounts and saved OAuth apps, in a lowdb JSON file (0600). Secrets are
 * never written here; each record names the store that holds its secret.
 */

export type Grant = 'authorization_code' | 'device_code' | 'client_credentials';

/** Where a credential may be sent: what the definition said when it was issued (origins). */
export interface CredentialBinding {
  hosts: string[];
  /** The token URL refreshes go to (OAuth 2.0 only). */
  token_url?: string;
  /** Where logout sends the token to revoke it, when the provider offers revocation. */
  revocation_url?: string;
}

export interface AccountRecord {
  connector: string;
  /**
   * The connector version the account was made with (connector/versions.ts); `call` uses that
   * version while it is loaded. Absent on accounts older than versions: the newest is used.
   */
  connector_version?: number;
  account: string;
  auth_type: 'oauth2' | 'api_key' | 'basic';
  grant?: Grant;
  /** Who the account is, when known: an e-mail or user name. */
  identity?: string;
  scopes: string[];
  /** ISO time the access token expires, when the provider said. */
  expires_at?: string;
  store: StoreKind;
  /** The OAuth client that obtained the tokens; refreshes must use the same one. */
  client_id?: string;
  created_at: string;
  last_used_at?: string;
  last_refreshed_at?: string;
  /** Recorded at sign-in (or first use of an older account); see core/auth/binding.ts. */
  binding?: CredentialBinding;
}

export interface AppRecord {
  client_id: string;
  /** Where the client secret is, if one was saved. */
  secret_store?: StoreKind;
  saved_at: string;
}

export interface MetadataFile {
  version: 1;
  accounts: AccountRecord[];
  /** connector -> default account name */
  defaults: Record<string, string>;
  /** connector -> saved OAuth client */
  apps: Record<string, AppRecord>;
}

export const DEFAULT_ACCOUNT = 'default';

/** What accounts.json must look like when read; unknown fields are allowed and kept. */
const metadataFileSchema: FileShape['schema'] = (z) => {
  const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date and time');

  const AccountRecordSchema = z.object({
    connector: z.string().min(1),
    connector_version: z.number().int().positive().optional(),
    account: z.string().min(1),
    auth_type: z.enum(['oauth2', 'api_key', 'basic']),
    grant: z.enum(['authorization_code', 'device_code', 'client_credentials']).optional(),
    identity: z.string().optional(),
    scopes: z.array(z.string()),
    expires_at: isoTime.optional(),
    store: z.enum(['keychain', 'encrypted-file', 'plaintext-file']),
    client_id: z.string().optional(),
    created_at: isoTime,
    last_used_at: isoTime.optional(),
    last_refreshed_at: isoTime.optional(),
    binding: z
      .object({
        hosts: z.array(z.string()),
        token_url: z.string().optional(),
        revocation_url: z.string().optional(),
      })
      .optional(),
  });

  return z.object({
    version: z.literal(1),
    accounts: z.array(AccountRecordSchema),
    defaults: z.record(z.string(), z.string()),
    apps: z.record(
      z.string(),
      z.object({
        client_id: z.string(),
        secret_store: z.enum(['keychain', 'encrypted-file', 'plaintext-file']).optional(),
        saved_at: isoTime,
      }),
    ),
  });
};

export class MetadataStore {
  readonly db: JsonDb<MetadataFile>;

  constructor(paths: ConnectrPaths) {
    this.db = new JsonDb<MetadataFile>(
      join(paths.dataDir, 'accounts.json'),
      join(paths.dataDir, 'locks'),
      () => ({
        version: 1,
        accounts: [],
        defaults: {},
        apps: {},
      }),
      { schema: metadataFileSchema, what: "connectr's account list (accounts.json)" },
    );
  }

  get path(): string {
    return this.db.path;
  }

  async accounts(connector?: string): Promise<AccountRecord[]> {
    const data = await this.db.read();
    return data.accounts.filter((a) => connector === undefined || a.connector === connector);
  }

  async find(connector: string, account: string): Promise<AccountRecord | undefined> {
    return (await this.accounts(connector)).find((a) => a.account === account);
  }

  /** The account commands use when none is named: the chosen default, else the only one. */
  async defaultAccount(connector: string): Promise<string | undefined> {
    const data = await this.db.read();
    const chosen = data.defaults[connector];
    const accounts = data.accounts.filter((a) => a.connector === connector);
    if (chosen && accounts.some((a) => a.account === chosen)) return chosen;
    if (accounts.length === 1) return accounts[0]?.account;
    return accounts.find((a) => a.account === DEFAULT_ACCOUNT)?.account;
  }

  async upsert(record: AccountRecord): Promise<void> {
    await this.db.update((data) => {
      const i = data.accounts.findIndex(
        (a) => a.connector === record.connector && a.account === record.account,
      );
      if (i >= 0) data.accounts[i] = record;
      else data.accounts.push(record);
    });
  }

  /** Changes one account's record in place; returns the new record, or undefined if gone. */
  async patch(
    connector: string,
    account: string,
    change: (record: AccountRecord) => void,
  ): Promise<AccountRecord | undefined> {
    return this.db.update((data) => {
      const record = data.accounts.find((a) => a.connector === connector && a.account === account);
      if (record) change(record);
      return record;
    });
  }

  async remove(connector: string, account: string): Promise<boolean> {
    return this.db.update((data) => {
      const before = data.accounts.length;
      data.accounts = data.accounts.filter((a) => !(a.connector === connector && a.account === account));
      if (data.defaults[connector] === account) delete data.defaults[connector];
      return data.accounts.length < before;
    });
  }

  async setDefault(connector: string, account: string): Promise<void> {
    await this.db.update((data) => {
      data.defaults[connector] = account;
    });
  }

  async defaults(): Promise<Record<string, string>> {
    return (await this.db.read()).defaults;
  }

  async app(connector: string): Promise<AppRecord | undefined> {
    return (await this.db.read()).apps[connector];
  }

  async apps(): Promise<Record<string, AppRecord>> {
    return (await this.db.read()).apps;
  }

  async setApp(connector: string, app: AppRecord | undefined): Promise<void> {
    await this.db.update((data) => {
      if (app) data.apps[connector] = app;
      else delete data.apps[connector];
    });
  }
}
