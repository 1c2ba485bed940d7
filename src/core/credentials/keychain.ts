import type { AsyncEntry } from '@napi-rs/keyring';
import { ConnectrError, messageOf } from '../errors.js';
import type { SecretStore } from './secret-store.js';

/**
 * The OS keychain through the keytar-style API of @napi-rs/keyring. On Linux the entry is
 * pinned to the Secret Service: the library would otherwise fall back silently to the kernel
 * keyring, which forgets everything at logout or reboot. Every call has a time limit so a hung
 * D-Bus cannot hang the CLI.
 */
export class KeychainStore implements SecretStore {
  readonly kind = 'keychain';
  readonly location =
    process.platform === 'darwin'
      ? 'macOS Keychain'
      : process.platform === 'win32'
        ? 'Windows Credential Manager'
        : 'system keychain (Secret Service)';

  /**
   * `namespace` keeps separate connectr homes (CONNECTR_HOME) from sharing keychain entries:
   * their metadata files differ, so their secrets must too.
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly namespace?: string,
  ) {}

  get(service: string, account: string): Promise<string | null> {
    return this.call('read from', (entry, signal) => entry.getPassword(signal), service, account);
  }

  set(service: string, account: string, secret: string): Promise<void> {
    return this.call('write to', (entry, signal) => entry.setPassword(secret, signal), service, account);
  }

  delete(service: string, account: string): Promise<boolean> {
    return this.call('delete from', (entry, signal) => entry.deletePassword(signal), service, account);
  }

  /** Whether the keychain answers, and if not, why (shown by `connectr vault status`). */
  async probe(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await this.get('connectr', 'availability-check');
      return { ok: true };
    } catch (error) {
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      return { ok: false, reason: shortReason(messageOf(cause)) };
    }
  }

  private async call<T>(
    what: string,
    fn: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>,
    service: string,
    account: string,
  ): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      const { AsyncEntry } = await import('@napi-rs/keyring');
      // The constructor itself throws when no session bus is reachable.
      const name = this.namespace ? `${service} (${this.namespace})` : service;
      const entry = new AsyncEntry(name, account, { linux: { store: 'secret-service' } });
      return await Promise.race([fn(entry, controller.signal), timeout]);
    } catch (error) {
      throw new ConnectrError(
        'unavailable',
        `the ${this.location} failed to ${what} (${shortReason(messageOf(error))})`,
        {
          hint: "set CONNECTR_STORE=file to keep secrets in connectr's encrypted file instead",
          cause: error,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The library's message without its layers of prefixes: "Failed to connect to socket ...". */
function shortReason(text: string): string {
  if (/autolaunch|DBUS_SESSION_BUS_ADDRESS/.test(text))
    return 'no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set';
  return (text.split('\n')[0] ?? text).replace(
    /^(Platform failure: |DBus error: |Couldn't access platform storage: )+/g,
    '',
  );
}
