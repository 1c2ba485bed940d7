import { afterEach, describe, expect, it } from 'vitest';
import { CORE_SETTINGS, coreSettings } from '../../../src/core/settings/core.js';
import { SERVE_FLAGS, SERVER_SETTINGS, flagValue, serverSettings } from '../../../src/server/settings.js';
import { tempHome } from '../../helpers/home.js';
import { runCli } from '../../helpers/io.js';

/** One schema for every variable of a fixed name: parsed once at start, from the environment given. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function home(): Record<string, string> {
  const h = tempHome();
  cleanups.push(h.cleanup);
  return h.env;
}

describe('the settings of the CLI and the core', () => {
  it('are read from the environment given, never from process.env, with their defaults', () => {
    process.env.CONNECTR_KEYCHAIN_TIMEOUT_MS = '7';
    try {
      const settings = coreSettings({
        CONNECTR_STORE: ' File ',
        CONNECTR_CONNECTORS_DIR: 'a::b',
        CONNECTR_HOME: '',
      });
      expect(settings.CONNECTR_KEYCHAIN_TIMEOUT_MS).toBe(5000);
      expect(settings.CONNECTR_STORE).toBe('file');
      expect(settings.CONNECTR_CONNECTORS_DIR).toEqual(['a', 'b']);
      // Empty is unset, as `VAR=` means in a unit file.
      expect(settings.CONNECTR_HOME).toBeUndefined();
      expect(settings.CONNECTR_MCP_DRAIN_MS).toBe(60_000);
      expect(settings.CONNECTR_DEBUG).toBe(false);
    } finally {
      delete process.env.CONNECTR_KEYCHAIN_TIMEOUT_MS;
    }
  });

  it('a malformed value stops a command at its start, naming the variable and the fix (exit 1)', async () => {
    const env = home();
    for (const [name, value, must] of [
      ['CONNECTR_KEYCHAIN_TIMEOUT_MS', '5s', 'a whole number from 1 to 2147483647'],
      ['CONNECTR_LOCK_STALE_MS', '10', 'a whole number from 2000 to 2147483647'],
      ['CONNECTR_MCP_DRAIN_MS', '-1', 'a whole number from 1 to 2147483647'],
      ['CONNECTR_STORE', 'plaintext', 'one of auto, keychain, file'],
    ] as const) {
      const result = await runCli(['connectors', 'list'], { ...env, [name]: value });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`error: ${name} must be ${must} (found "${value}")`);
      expect(result.stderr).toMatch(new RegExp(`hint: set ${name} to `));
      expect(result.stdout).toBe('');
    }
  });

  it('hostile values: control characters are escaped, a long value is cut, no prototype key is read', async () => {
    const env = home();
    const escaped = await runCli(['connectors', 'list'], {
      ...env,
      CONNECTR_STORE: 'x\u001b[2J\nhint: forged',
    });
    expect(escaped.code).toBe(1);
    expect(escaped.stderr).not.toContain('\u001b');
    expect(escaped.stderr.split('\n').filter((line) => line.startsWith('hint:'))).toHaveLength(1);
    const long = await runCli(['connectors', 'list'], {
      ...env,
      CONNECTR_KEYCHAIN_TIMEOUT_MS: '9'.repeat(100_000),
    });
    expect(long.code).toBe(1);
    expect(long.stderr.length).toBeLessThan(1000);
    const polluted = JSON.parse(
      '{"__proto__": {"CONNECTR_STORE": "nonsense"}, "constructor": "x"}',
    ) as Record<string, string>;
    expect(coreSettings(polluted).CONNECTR_STORE).toBe('auto');
    expect(({} as Record<string, unknown>).CONNECTR_STORE).toBeUndefined();
  });

  it('the variables of the server are the server’s own: a bad one never stops a CLI command', async () => {
    const result = await runCli(['connectors', 'list', '--json'], { ...home(), CONNECTR_CACHE_MS: '2s' });
    expect(result.code, result.stderr).toBe(0);
    expect(() => serverSettings({ CONNECTR_CACHE_MS: '2s' })).toThrow(
      /CONNECTR_CACHE_MS must be a whole number \(0 or more\) \(found "2s"\)/,
    );
  });

  it('no variable is declared twice, and every serve flag with a fallback names a server variable', () => {
    const core = Object.keys(CORE_SETTINGS);
    expect(Object.keys(SERVER_SETTINGS).filter((name) => core.includes(name))).toEqual([]);
    for (const flag of Object.values(SERVE_FLAGS)) {
      if ('env' in flag) expect(Object.keys(SERVER_SETTINGS)).toContain(flag.env);
    }
  });

  it("a serve flag's number is whole and in range; empty, signs, decimals and exponents are refused", () => {
    const port = SERVE_FLAGS.port.value;
    expect(flagValue(port, '0')).toBe(0);
    expect(flagValue(port, ' 8080 ')).toBe(8080);
    for (const bad of ['', ' ', '-1', '+1', '1.5', '1e3', '65536', '0x50', '99999999999999999999'])
      expect(flagValue(port, bad), bad).toBeUndefined();
  });
});
