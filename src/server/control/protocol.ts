import { z } from 'zod';
import { API_KEY_SCOPES } from '../contracts.js';
import type { ApiKeyScope } from '../contracts.js';

/**
 * The control channel of a running `connectr serve`: how `connectr serve keys` reaches the
 * daemon that holds the embedded (PGlite) database, which no second process may open. HTTP/1.1
 * over a Unix domain socket in the data directory, JSON bodies, versioned by path:
 *
 *   GET  /connectr-control/v1       -> 200 {service, protocol, pid}   (who answers)
 *   POST /connectr-control/v1/keys  {op: create|list|revoke, ...}
 *                                   -> 200 the answer of that operation (the JSON `keys --json` prints)
 *                                   -> 4xx/5xx {error: {code, message, hint?, details?}}
 *   POST /connectr-control/v1/console {project?}
 *                                   -> 200 {url}: a one-time console sign-in link (`serve console`)
 *
 * It carries the key operations and the console's sign-in link, nothing else. Whoever can open
 * the socket may use it: the socket is 0600 in a 0700 directory, so that is the user who runs
 * the daemon.
 */

export const CONTROL_PROTOCOL = 1;
export const CONTROL_SERVICE = 'connectr-serve';
export const CONTROL_ROOT = '/connectr-control/v1';
export const CONTROL_KEYS = `${CONTROL_ROOT}/keys`;
export const CONTROL_CONSOLE = `${CONTROL_ROOT}/console`;

export const consoleRequestSchema = z.strictObject({ project: z.string().max(200).optional() });
export type ConsoleLinkRequest = z.infer<typeof consoleRequestSchema>;
export interface ConsoleLinkAnswer {
  /** The link: the daemon's address, /console/link and a token good once, for a minute. */
  url: string;
}

/** A request body larger than this is refused (413) unread: key requests are a few hundred bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** An answer larger than this is not read by the client (a list of many thousands of keys fits). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const text = (max: number) => z.string().max(max);

export const keyRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('create'),
    name: text(200),
    project: text(200).optional(),
    allow_token: z.boolean().optional(),
    scope: z.enum(API_KEY_SCOPES).optional(),
  }),
  z.strictObject({ op: z.literal('list'), project: text(200).optional() }),
  z.strictObject({ op: z.literal('revoke'), id_or_prefix: text(200) }),
]);

export type KeyRequest = z.infer<typeof keyRequestSchema>;
export type KeyOp = KeyRequest['op'];
export type KeyRequestOf<Op extends KeyOp> = Extract<KeyRequest, { op: Op }>;

/** A key as `keys list --json` shows it: never the secret, which is not stored. */
export interface KeyEntry {
  id: string;
  prefix: string;
  name: string;
  project: string;
  allow_token: boolean;
  scope: ApiKeyScope;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A key as `keys create --json` shows it: the listing's fields a new key has, and the key. */
export interface CreatedKey extends Omit<KeyEntry, 'last_used_at' | 'revoked_at'> {
  /** The key itself, shown once. */
  key: string;
  /** Whether the project was made for it. */
  created_project: boolean;
}

export interface RevokedKey {
  id: string;
  prefix: string;
  name: string;
  project: string;
  revoked_at: string | null;
  already_revoked: boolean;
}

export interface KeyAnswers {
  create: CreatedKey;
  list: KeyEntry[];
  revoke: RevokedKey;
}

/** What answers GET CONTROL_ROOT. */
export interface ControlHello {
  service: typeof CONTROL_SERVICE;
  protocol: number;
  pid: number;
}

export interface ControlErrorBody {
  error: { code: string; message: string; hint?: string; details?: string[] };
}
