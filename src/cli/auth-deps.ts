import { createInterface } from 'node:readline';
import type { AuthDeps } from '../core/auth/deps.js';
import { systemClock } from '../core/clock.js';
import type { PassphraseSource } from '../core/credentials/encrypted-file.js';
import { MetadataStore } from '../core/credentials/metadata.js';
import { Vault } from '../core/credentials/vault.js';
import { ConnectrError } from '../core/errors.js';
import type { CliContext } from './context.js';
import type { Prompter } from './prompt.js';
import { createPrompter } from './prompt.js';

/** The authentication layer wired to the terminal: prompts, stderr notices, the real clock. */
export interface CliAuth {
  readonly deps: AuthDeps;
  readonly prompter: Prompter;
}

export function cliAuth(ctx: CliContext): CliAuth {
  const prompter = createPrompter(ctx.io);
  const vault = new Vault({
    settings: ctx.settings,
    paths: ctx.paths,
    passphrase: passphraseSource(ctx, prompter),
  });
  return {
    prompter,
    deps: {
      env: ctx.env,
      settings: ctx.settings,
      paths: ctx.paths,
      clock: ctx.io.clock ?? systemClock,
      http: { signal: ctx.signal, env: ctx.env },
      vault,
      metadata: new MetadataStore(ctx.paths),
      notify: (message) => {
        ctx.out.info(message);
      },
    },
  };
}

const MIN_PASSPHRASE = 8;

/** CONNECTR_VAULT_PASSPHRASE, else asked at the terminal (twice for a new vault), once per run. */
function passphraseSource(ctx: CliContext, prompter: Prompter): PassphraseSource {
  let cached: string | undefined;
  return async (purpose) => {
    cached ??= ctx.settings.CONNECTR_VAULT_PASSPHRASE;
    // A new vault gets the minimum the prompt enforces; an existing one opens with what made it.
    if (cached && purpose === 'create' && cached.length < MIN_PASSPHRASE) {
      throw new ConnectrError(
        'invalid_input',
        `CONNECTR_VAULT_PASSPHRASE is too short for a new vault (${cached.length} characters; at least ${MIN_PASSPHRASE})`,
        { hint: `set CONNECTR_VAULT_PASSPHRASE to a passphrase of at least ${MIN_PASSPHRASE} characters` },
      );
    }
    if (cached) return cached;
    if (!prompter.interactive) {
      throw new ConnectrError('auth_required', "connectr's encrypted file store needs its passphrase", {
        hint: 'set CONNECTR_VAULT_PASSPHRASE, run in a terminal to type it, or make a keychain available (`connectr vault status`)',
      });
    }
    if (purpose === 'create') {
      ctx.out.info(
        'No system keychain is reachable, so secrets go to an encrypted file. Choose its passphrase.',
      );
      for (;;) {
        const first = await prompter.secret(`New vault passphrase (at least ${MIN_PASSPHRASE} characters):`);
        if (first.length < MIN_PASSPHRASE) {
          ctx.out.warn('too short');
          continue;
        }
        if ((await prompter.secret('Repeat the passphrase:')) === first) {
          cached = first;
          break;
        }
        ctx.out.warn('the two passphrases differ; try again');
      }
      return cached;
    }
    cached = await prompter.secret('Vault passphrase:');
    return cached;
  };
}

/** One line from stdin (the pasted redirect address with --no-browser); ends when the signal aborts. */
export function readLine(ctx: CliContext): (signal: AbortSignal) => Promise<string> {
  return (signal) =>
    new Promise((resolve, reject) => {
      const rl = createInterface({ input: ctx.io.stdin, terminal: false });
      const finish = (): void => {
        rl.close();
      };
      signal.addEventListener('abort', finish, { once: true });
      rl.once('line', (line) => {
        signal.removeEventListener('abort', finish);
        rl.close();
        resolve(line);
      });
      // If stdin ends without a line, the promise stays pending: the browser may still call back.
      rl.once('error', reject);
    });
}
