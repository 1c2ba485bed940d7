import type { CoreSettings } from '../settings/core.js';
import type { Clock } from '../clock.js';
import type { MetadataStore } from '../credentials/metadata.js';
import type { Vault } from '../credentials/vault.js';
import type { HttpOptions } from '../http/request.js';
import type { ConnectrPaths, Env } from '../paths.js';

/** What the authentication code needs from its surroundings, injected by each front-end. */
export interface AuthDeps {
  /** The environment, for the variables a connector names (its token, its OAuth app, its URLs). */
  readonly env: Env;
  /** The variables of fixed names, parsed once at start (core/settings). */
  readonly settings: CoreSettings;
  readonly paths: ConnectrPaths;
  readonly clock: Clock;
  readonly http: HttpOptions;
  readonly vault: Vault;
  readonly metadata: MetadataStore;
  /** Tells the user something (stderr in the CLI, a log line in the server). */
  notify(message: string): void;
}
