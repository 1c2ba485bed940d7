import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real, private Secret Service for the tests: a D-Bus session bus of our own and a
 * gnome-keyring-daemon on it, with its keyring files in a temporary directory. Tests never touch
 * the developer's own keyring, and CI gets a real keychain without a desktop session.
 * Sets DBUS_SESSION_BUS_ADDRESS for the test processes and CONNECTR_TEST_KEYCHAIN=1 when it works.
 */

function which(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export default async function setup(): Promise<() => void> {
  delete process.env.CONNECTR_TEST_KEYCHAIN;
  if (!which('dbus-daemon') || !which('gnome-keyring-daemon') || !which('secret-tool')) {
    if (process.env.CONNECTR_REQUIRE_KEYCHAIN) {
      throw new Error(
        'CONNECTR_REQUIRE_KEYCHAIN is set but dbus-daemon, gnome-keyring-daemon or secret-tool is missing',
      );
    }
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/connectr-test-bus';
    console.warn(
      'keychain: dbus-daemon, gnome-keyring-daemon or secret-tool missing; keychain tests are skipped (.ci/run installs them)',
    );
    return () => undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'connectr-keyring-'));
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const address = `unix:path=${join(dir, 'bus')}`;
  const children: ChildProcess[] = [];
  const bus = spawn(
    'dbus-daemon',
    ['--session', '--nofork', '--nopidfile', `--address=${address}`, '--print-address=1'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.push(bus);
  await new Promise<void>((resolve, reject) => {
    bus.stdout.once('data', () => {
      resolve();
    });
    bus.once('exit', (code) => {
      reject(new Error(`dbus-daemon exited (${code ?? 'signal'})`));
    });
  });
  const env = {
    ...process.env,
    DBUS_SESSION_BUS_ADDRESS: address,
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_RUNTIME_DIR: runtime,
  };
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  children.push(keyring);
  keyring.stdin.end('connectr-test');
  // Wait for our daemon to own the Secret Service name; asking the service earlier would make
  // D-Bus start a second, locked daemon.
  for (let i = 0; i < 200; i++) {
    const r = spawnSync(
      'dbus-send',
      [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        'string:org.freedesktop.secrets',
      ],
      { env, encoding: 'utf8' },
    );
    if (r.stdout.includes('boolean true')) break;
    await new Promise((r2) => setTimeout(r2, 25));
  }
  // The default collection (the login keyring) exists once a first secret is stored; a desktop
  // session does this at login. Store and clear one, retrying until the daemon answers.
  let ready = false;
  const item = ['service', 'connectr-test-setup', 'account', 'init'];
  for (let i = 0; i < 100 && !ready; i++) {
    const r = spawnSync('secret-tool', ['store', '--label=connectr test setup', ...item], {
      env,
      input: 'x',
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    ready = r.status === 0;
    if (!ready) await new Promise((r2) => setTimeout(r2, 50));
  }
  spawnSync('secret-tool', ['clear', ...item], { env, stdio: 'ignore' });
  if (!ready) {
    for (const child of children) child.kill('SIGTERM');
    throw new Error('the test keychain (gnome-keyring-daemon) did not become ready');
  }
  process.env.DBUS_SESSION_BUS_ADDRESS = address;
  process.env.CONNECTR_TEST_KEYCHAIN = '1';
  return () => {
    for (const child of children.reverse()) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
}
