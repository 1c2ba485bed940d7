import type { Clock } from '../clock.js';
import type { MetadataStore } from '../credentials/metadata.js';
import type { Vault } from '../credentials/vault.js';
import type { HttpOptions } from '../http/request.js';
import type { ConnectrPaths, Env } from '../paths.js';

/** What the authentication code needs from its surroundings, injected by each front-end. */
export interface AuthDeps {
  readonly env: Env;
  readonly paths: ConnectrPaths;
  readonly clock: Clock;
  readonly http: HttpOptions;
  readonly vault: Vault;
  readonly metadata: MetadataStore;
  /** Tells the user something (stderr in the CLI, a log line in the server). */
  notify(message: string): void;
}
