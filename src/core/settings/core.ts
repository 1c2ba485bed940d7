import { delimiter } from 'node:path';
import { choice, flag, list, text, wholeNumber } from './kinds.js';
import type { Setting } from './define.js';
import { objectOf } from './define.js';
import type { Settings } from './define.js';
import type { Env } from '../paths.js';
import { parseSettings } from './parse.js';

/** setTimeout fires at once beyond this many milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every environment variable of a fixed name that the CLI, the core and `connectr/local`
 * read, parsed once when a command starts (cli/context.ts) and passed down. Variables named
 * by a connector (its tokens, OAuth app, base URLs) are not here: CONNECTOR_PATTERNS lists them.
 */
export const CORE_SETTINGS = {
  CONNECTR_HOME: {
    schema: text(),
    doc: {
      meaning: "one folder for all of connectr's files",
      default: 'the XDG folders',
      readBy: ['every command', 'connectr serve'],
    },
  },
  HOME: {
    schema: text(),
    doc: {
      meaning: 'your home folder, under which the XDG folders lie by default',
      readBy: ['every command'],
    },
  },
  XDG_CONFIG_HOME: {
    schema: text(),
    doc: {
      meaning: 'where configuration (your connectors, OAuth apps) goes without `CONNECTR_HOME`',
      default: '`~/.config`',
      readBy: ['every command'],
    },
  },
  XDG_DATA_HOME: {
    schema: text(),
    doc: {
      meaning:
        "where data (accounts, the encrypted vault, the server's PGlite database) goes without `CONNECTR_HOME`",
      default: '`~/.local/share`',
      readBy: ['every command', 'connectr serve'],
    },
  },
  XDG_CACHE_HOME: {
    schema: text(),
    doc: {
      meaning: 'where rebuildable caches go without `CONNECTR_HOME`',
      default: '`~/.cache`',
      readBy: ['every command'],
    },
  },
  CONNECTR_NO_CODE_CACHE: {
    schema: flag(),
    doc: {
      meaning: 'set: do not keep the start-up code cache (docs/cli.md, "Caches")',
      readBy: ['every command'],
    },
  },
  CONNECTR_CONNECTORS_DIR: {
    schema: list(delimiter),
    doc: { meaning: 'extra connector folders, `:`-separated', readBy: ['every command', 'connectr serve'] },
  },
  HTTPS_PROXY: {
    schema: text(),
    doc: {
      meaning: 'proxy for `https://` requests (else `HTTP_PROXY`); `https_proxy` too',
      readBy: ['every command', 'connectr serve'],
    },
  },
  https_proxy: {
    schema: text(),
    doc: { meaning: 'as `HTTPS_PROXY`', readBy: ['every command', 'connectr serve'] },
  },
  HTTP_PROXY: {
    schema: text(),
    doc: {
      meaning: 'proxy for `http://` requests: `http://[user:pass@]host:port`; `http_proxy` too',
      readBy: ['every command', 'connectr serve'],
    },
  },
  http_proxy: {
    schema: text(),
    doc: { meaning: 'as `HTTP_PROXY`', readBy: ['every command', 'connectr serve'] },
  },
  NO_PROXY: {
    schema: text(),
    doc: {
      meaning: 'hosts not proxied: `a.com,b.org:8080` (with subdomains), `*`; `no_proxy` too',
      readBy: ['every command', 'connectr serve'],
    },
  },
  no_proxy: {
    schema: text(),
    doc: { meaning: 'as `NO_PROXY`', readBy: ['every command', 'connectr serve'] },
  },
  NO_COLOR: {
    schema: text(),
    doc: { meaning: 'set: no colour (as `--no-color`)', readBy: ['every command', 'connectr serve'] },
  },
  FORCE_COLOR: {
    schema: text(),
    doc: {
      meaning: 'set (and not `0`): colour even when not on a terminal',
      readBy: ['every command', 'connectr serve'],
    },
  },
  TERM: {
    schema: text(),
    doc: { meaning: '`dumb`: no colour', readBy: ['every command', 'connectr serve'] },
  },
  CONNECTR_DEBUG: {
    schema: flag(),
    doc: { meaning: 'set: print the stack trace of an internal error', readBy: ['every command'] },
  },
  PATH: {
    schema: text(),
    doc: {
      meaning: 'whether `--curl` can name `connectr` alone or needs its full path',
      readBy: ['every command'],
    },
  },
  CONNECTR_URL: {
    schema: text(),
    doc: {
      meaning: 'the daemon, e.g. `http://127.0.0.1:5000` (as `--server`)',
      readBy: ['connections push', 'serve logs'],
    },
  },
  CONNECTR_API_KEY: {
    schema: text(),
    doc: {
      meaning: "one of the daemon's API keys (as `--api-key`, which others can read)",
      readBy: ['connections push', 'serve logs'],
    },
  },
  CONNECTR_STORE: {
    schema: choice(
      ['auto', 'keychain', 'file'],
      'auto',
      'keychain, file or auto (plaintext is only chosen with --insecure-storage)',
    ),
    doc: {
      meaning:
        'where new secrets go: `keychain` (only), `file` (the encrypted file), or `auto` (the keychain, else the file)',
      default: '`auto`',
      readBy: ['every command', 'connectr serve'],
    },
  },
  CONNECTR_VAULT_PASSPHRASE: {
    schema: text(),
    doc: {
      meaning: 'passphrase of the encrypted file store (else asked at a terminal)',
      readBy: ['every command', 'connectr serve'],
    },
  },
  CONNECTR_KEYCHAIN_TIMEOUT_MS: {
    schema: wholeNumber({ fallback: 5000, max: MAX_TIMER_MS }),
    doc: {
      meaning: 'time limit of each keychain call, in ms',
      default: '`5000`',
      readBy: ['every command', 'connectr serve'],
    },
  },
  CONNECTR_LOCK_STALE_MS: {
    schema: wholeNumber({ fallback: 15_000, min: 2000, max: MAX_TIMER_MS }),
    doc: {
      meaning: 'for tests only: how long a refresh lock nobody updates lasts before it is taken over, in ms',
      default: '`15000`',
      readBy: ['every command'],
    },
  },
  CONNECTR_BROWSER: {
    schema: text(),
    doc: {
      meaning: 'command that opens the sign-in address (the URL is its last argument)',
      readBy: ['sign-in'],
    },
  },
  BROWSER: {
    schema: text(),
    doc: { meaning: 'as `CONNECTR_BROWSER`, when that is unset', readBy: ['sign-in'] },
  },
  CONNECTR_MCP_DRAIN_MS: {
    schema: wholeNumber({ fallback: 60_000, max: MAX_TIMER_MS }),
    doc: {
      meaning: 'how long calls still running at the end of input may finish, in ms',
      default: '`60000`',
      readBy: ['connectr mcp'],
    },
  },
} satisfies Record<string, Setting<unknown>>;

export type CoreSettings = Settings<typeof CORE_SETTINGS>;

export const CORE_SCHEMA = objectOf(CORE_SETTINGS);

/** The core's and the CLI's settings from `env` (process.env at the edge; any object in tests). */
export function coreSettings(env: Env): CoreSettings {
  return parseSettings(CORE_SCHEMA, env);
}

/**
 * One setting alone, where the settings cannot be at hand: reporting an error (the parse of
 * the others may be what failed), or the start before the bundle (cli/start.ts).
 */
export function coreSetting<K extends keyof CoreSettings>(env: Env, name: K): CoreSettings[K] {
  return parseSettings(objectOf({ [name]: CORE_SETTINGS[name] } as Pick<typeof CORE_SETTINGS, K>), env)[
    name
  ] as CoreSettings[K];
}

/**
 * Variables whose names a connector's definition gives (`connectr connectors show NAME` prints
 * them): not parsed here, since they exist only per connector; read where the connector is used.
 */
export const CONNECTOR_PATTERNS: readonly { readonly name: string; readonly meaning: string }[] = [
  { name: 'CONNECTR_<CONNECTOR>_TOKEN', meaning: 'a token that takes precedence over stored accounts' },
  {
    name: '<CONNECTOR>_CLIENT_ID, <CONNECTOR>_CLIENT_SECRET',
    meaning: 'the OAuth app (names as the connector declares)',
  },
  {
    name: '<CONNECTOR>_API_KEY',
    meaning: 'the API key of an `api_key` connector (names as the connector declares)',
  },
  { name: 'CONNECTR_<CONNECTOR>_<HOST>_BASE_URL', meaning: 'redirect a connector host (proxy, emulator)' },
  {
    name: 'CONNECTR_<CONNECTOR>_REDIRECT_HOSTS',
    meaning: 'redirect and upload-URL origins (replaces `redirect_hosts`)',
  },
  {
    name: 'CONNECTR_<CONNECTOR>_AUTHORIZATION_URL, _TOKEN_URL, _REVOCATION_URL, _DEVICE_AUTHORIZATION_URL',
    meaning: "redirect the provider's OAuth endpoints (proxies, sovereign clouds, test servers)",
  },
];
