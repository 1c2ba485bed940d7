import { existsSync } from 'node:fs';
import type { CliContext } from '../../context.js';
import { cliAuth } from '../../auth-deps.js';
import { messageOf } from '../../../core/errors.js';

export async function vaultStatus(ctx: CliContext): Promise<void> {
  const { deps } = cliAuth(ctx);
  const vault = deps.vault;
  const keychain = await vault.keychainAvailable();
  let preference: string;
  let next: string;
  try {
    preference = vault.preference();
    next =
      preference === 'file' || (!keychain.available && preference === 'auto')
        ? vault.encrypted.location
        : vault.keychain.location;
  } catch (error) {
    preference = 'invalid';
    next = messageOf(error);
  }
  const counts: Record<string, number> = {};
  for (const a of await deps.metadata.accounts()) counts[a.store] = (counts[a.store] ?? 0) + 1;
  const encryptedExists = existsSync(vault.encrypted.path);
  const plaintextExists = existsSync(vault.plaintext.path);
  const status = {
    keychain: keychain.available
      ? { available: true, location: vault.keychain.location }
      : { available: false, location: vault.keychain.location, reason: keychain.reason },
    encrypted_file: {
      path: vault.encrypted.path,
      exists: encryptedExists,
      secrets: encryptedExists ? await vault.encrypted.count() : 0,
    },
    plaintext_file: {
      path: vault.plaintext.path,
      exists: plaintextExists,
      secrets: plaintextExists ? await vault.plaintext.count() : 0,
    },
    preference,
    new_secrets_go_to: next,
    accounts_by_store: counts,
    metadata_file: deps.metadata.path,
  };
  const { out } = ctx;
  if (out.json) {
    out.printJson(status);
    return;
  }
  const s = out.style;
  out.line(
    `Keychain:        ${keychain.available ? s.green(`available (${vault.keychain.location})`) : s.yellow(`unavailable (${keychain.reason})`)}`,
  );
  out.line(
    `Encrypted file:  ${vault.encrypted.path}${encryptedExists ? ` (${status.encrypted_file.secrets} secrets)` : ' (not created)'}`,
  );
  if (plaintextExists)
    out.line(
      `Plaintext file:  ${vault.plaintext.path} (${status.plaintext_file.secrets} secrets, --insecure-storage)`,
    );
  out.line(`New secrets go to the ${next}${preference !== 'auto' ? ` (CONNECTR_STORE=${preference})` : ''}.`);
  const byStore = Object.entries(counts).map(([k, n]) => `${k} ${n}`);
  out.line(`Accounts:        ${byStore.length ? byStore.join(', ') : 'none'}`);
  out.line(`Metadata:        ${deps.metadata.path}`);
}
