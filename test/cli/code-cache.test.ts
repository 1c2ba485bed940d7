import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/**
 * The V8 code cache the real binary keeps in <cache dir>/v8 (src/cli/code-cache.ts): made by
 * one run, used by the next, and never a reason for a command to fail or to print anything.
 */
describe('the start-up code cache', () => {
  let home: ReturnType<typeof tempHome>;
  afterEach(() => {
    home.cleanup();
  });

  const cacheDir = (): string => join(home.dir, 'cache', 'v8');
  const cacheFiles = (): string[] => readdirSync(cacheDir()).sort();
  const identity = (file: string): string => {
    const info = statSync(join(cacheDir(), file));
    return `${info.ino}:${info.mtimeMs}:${info.size}`;
  };
  const connectr = async (
    args: string[],
    env: Record<string, string | undefined> = home.env,
  ): Promise<string> => {
    const r = await runBin(args, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  // `npm run build` ships caches for `connectors` and `call` (see the last test): the user's
  // own cache is seen with another command.
  const accounts = (env?: Record<string, string | undefined>): Promise<string> => connectr(['accounts'], env);

  it('is written by the first run, private, and used as it is by the next', async () => {
    home = tempHome();
    const first = await accounts();
    const [file, ...others] = cacheFiles();
    expect(others).toEqual([]);
    expect(file).toMatch(/^accounts\..+\.bin$/);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir(), file ?? '')).mode & 0o777).toBe(0o600);
    const before = identity(file ?? '');
    // A cache V8 rejected would be written anew at exit.
    expect(await accounts()).toBe(first);
    expect(cacheFiles()).toEqual([file]);
    expect(identity(file ?? '')).toBe(before);
  });

  it('keeps one file per command', async () => {
    home = tempHome();
    await accounts();
    await connectr(['apps', 'list']);
    await connectr(['accounts', 'list']);
    expect(cacheFiles().map((f) => f.split('.')[0])).toEqual(['accounts', 'apps']);
  });

  it('is replaced when damaged, and the command runs as usual', async () => {
    home = tempHome();
    const expected = await accounts();
    const [file = ''] = cacheFiles();
    const path = join(cacheDir(), file);
    const good = readFileSync(path);
    for (const damage of [Buffer.alloc(0), Buffer.alloc(good.length, 0xa5), good.subarray(0, 100)]) {
      writeFileSync(path, damage);
      expect(await accounts()).toBe(expected);
      // Written anew, and good: the next run uses it as it is.
      expect(readFileSync(path).length).toBeGreaterThan(1000);
      const replaced = identity(file);
      await accounts();
      expect(identity(file)).toBe(replaced);
    }
  });

  it('is not read when others could have written it', async () => {
    home = tempHome();
    await accounts();
    const [file = ''] = cacheFiles();
    chmodSync(join(cacheDir(), file), 0o666);
    const before = identity(file);
    await accounts();
    // Replaced by a private one.
    expect(identity(file)).not.toBe(before);
    expect(statSync(join(cacheDir(), file)).mode & 0o777).toBe(0o600);
  });

  it('removes the caches of other builds of the same command, and only those', async () => {
    home = tempHome();
    mkdirSync(cacheDir(), { recursive: true });
    writeFileSync(join(cacheDir(), 'accounts.v0.0.1-x64-0123456789abcdef.bin'), 'old');
    writeFileSync(join(cacheDir(), 'apps.v0.0.1-x64-0123456789abcdef.bin'), 'other command');
    writeFileSync(join(cacheDir(), 'notes.txt'), 'not a cache');
    await accounts();
    const files = cacheFiles();
    expect(files).toContain('apps.v0.0.1-x64-0123456789abcdef.bin');
    expect(files).toContain('notes.txt');
    expect(files.filter((f) => f.startsWith('accounts.'))).toHaveLength(1);
    expect(files).not.toContain('accounts.v0.0.1-x64-0123456789abcdef.bin');
  });

  it('is skipped without a word where it cannot be written', async () => {
    home = tempHome();
    const expected = await accounts();
    const blocked = tempHome();
    try {
      // The cache directory's place is taken by a file (ENOTDIR), as a read-only one would be
      // refused (root, who runs CI here, may write anywhere).
      writeFileSync(join(blocked.dir, 'cache'), 'a file');
      expect(await accounts(blocked.env)).toBe(expected);
      expect(readFileSync(join(blocked.dir, 'cache'), 'utf8')).toBe('a file');
    } finally {
      blocked.cleanup();
    }
  });

  it('is not kept with CONNECTR_NO_CODE_CACHE=1', async () => {
    home = tempHome();
    await accounts({ ...home.env, CONNECTR_NO_CODE_CACHE: '1' });
    expect(() => readdirSync(cacheDir())).toThrow(/ENOENT/);
  });

  it('behind a proxy, has its own file that V8 still accepts on the next run', async () => {
    home = tempHome();
    // Behind a proxy V8 runs with --liftoff-only; a cache made under other flags is rejected.
    const env = { ...home.env, HTTPS_PROXY: 'http://127.0.0.1:9' };
    await connectr(['connectors', 'list'], env);
    const [file = ''] = cacheFiles();
    expect(file).toMatch(/^connectors-proxy\./);
    const before = identity(file);
    await connectr(['connectors', 'list'], env);
    expect(identity(file)).toBe(before);
  });
});

describe('the code caches made at build time', () => {
  const shipped = join(import.meta.dirname, '../../dist/bundle/v8');

  it('are readable by all and writable by their owner only', () => {
    const files = readdirSync(shipped).sort();
    expect(files.map((f) => f.split('.')[0])).toEqual(['call', 'connectors', 'definitions']);
    for (const file of files) expect(statSync(join(shipped, file)).mode & 0o777).toBe(0o644);
  });

  it('serve an empty home, which then writes no cache of its own', async () => {
    const home = tempHome();
    try {
      const r = await runBin(['connectors', 'list'], home.env);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      // Had V8 rejected the shipped cache (or had it not been read), one would be written.
      expect(() => readdirSync(join(home.dir, 'cache', 'v8'))).toThrow(/ENOENT/);
    } finally {
      home.cleanup();
    }
  });
});

/**
 * A call with a connector of the user's own on an empty home (CI, a container): the definition
 * reader, zod and the YAML parser come from one bundle with a shipped code cache, not from some
 * 130 files in node_modules, and `--connectors-dir` before the command still finds the shipped
 * cache of `call` (issue #20).
 */
describe("a call with a connector of the user's own, on an empty home", () => {
  it('loads nothing from node_modules and writes no code cache', async () => {
    const home = tempHome();
    try {
      const dir = join(home.dir, 'own');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'acme.yaml'),
        `name: acme
display_name: Acme
version: 1
docs_url: https://example.com/docs
description: A local API.
hosts:
  api: http://127.0.0.1:9
auth:
  type: api_key
  in: header
  name: X-Key
endpoints:
  get_item:
    summary: One item.
    method: GET
    path: /items/{id}
    params:
      id: { in: path, required: true }
`,
      );
      const report = join(home.dir, 'loaded.json');
      const preload = join(home.dir, 'preload.cjs');
      writeFileSync(
        preload,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));`,
      );
      const r = await runBin(
        ['--connectors-dir', dir, 'call', 'acme', 'get_item', '--id', '7', '--dry-run'],
        {
          ...home.env,
          CONNECTR_ACME_TOKEN: 'k',
          NODE_OPTIONS: `--require ${preload}`,
        },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ url: 'http://127.0.0.1:9/items/7' });
      const loaded = JSON.parse(readFileSync(report, 'utf8')) as string[];
      expect(loaded.filter((f) => f.includes('node_modules'))).toEqual([]);
      expect(() => readdirSync(join(home.dir, 'cache', 'v8'))).toThrow(/ENOENT/);
    } finally {
      home.cleanup();
    }
  });
});

/** What scripts/bundle.mjs leaves out of the bundle every command loads (issue #8). */
describe('the start-up bundle', () => {
  const bundle = readFileSync(join(import.meta.dirname, '../../dist/bundle/connectr.cjs'), 'utf8');

  it('loads the large libraries few commands need from node_modules, when needed', () => {
    for (const library of ['zod', 'yaml', '@inquirer/prompts', 'undici', 'open', '@napi-rs/keyring'])
      expect(bundle).toContain(`require("${library}")`);
    // Without them it is connectr's own code, about 1.3 MB (the server's and zod/mini for the
    // settings included), growing with features; with them, several megabytes more.
    expect(bundle.length).toBeLessThan(1.5 * 1024 * 1024);
    // import.meta has no meaning in a CommonJS file: every use must have been replaced.
    expect(bundle).not.toMatch(/import\.meta/);
  });

  it('is ASCII, as the other bundles, so that Node reads each into a one-byte string', () => {
    // One non-ASCII character (an ellipsis in a comment) made the whole text two-byte: twice
    // the memory, and slower to decode, at every start.
    const dir = join(import.meta.dirname, '../../dist/bundle');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.cjs'))) {
      expect({ name, ascii: !/[\u0080-\uffff]/.test(readFileSync(join(dir, name), 'utf8')) }).toEqual({
        name,
        ascii: true,
      });
    }
  });
});

/**
 * What the commands run most load of Node itself (issue #8): each larger built-in module costs
 * milliseconds, and looking at process.stdin makes Node open a stream for it. Seen from inside
 * the real binary, through a module preloaded with NODE_OPTIONS.
 */
describe('what a command loads', () => {
  let home: ReturnType<typeof tempHome>;
  afterEach(() => {
    home.cleanup();
  });
  const PRELOAD = `
    const { writeFileSync } = require('node:fs');
    let stdin = false;
    const real = Object.getOwnPropertyDescriptor(process, 'stdin');
    Object.defineProperty(process, 'stdin', { configurable: true, get() { stdin = true; return real.get.call(process); } });
    process.on('exit', () => writeFileSync(process.env.LOADED_REPORT, JSON.stringify({ modules: process.moduleLoadList, stdin, schema: Object.keys(require.cache).some((file) => file.endsWith('definitions-schema.cjs')) })));
  `;
  const LARGER = ['child_process', 'crypto', 'fs/promises', 'https', 'tls', 'readline', 'zlib'];

  const loadedBy = async (
    args: string[],
    env: Record<string, string | undefined>,
    input?: string,
  ): Promise<{ modules: string[]; stdin: boolean; schema: boolean }> => {
    const dir = tempHome();
    try {
      const preload = join(dir.dir, 'preload.cjs');
      const report = join(dir.dir, 'loaded.json');
      writeFileSync(preload, PRELOAD);
      const r = await runBin(
        args,
        { ...env, NODE_OPTIONS: `--require ${preload}`, LOADED_REPORT: report },
        { input: input ?? '' },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const loaded = JSON.parse(readFileSync(report, 'utf8')) as {
        modules: string[];
        stdin: boolean;
        schema: boolean;
      };
      return {
        ...loaded,
        modules: loaded.modules.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)),
      };
    } finally {
      dir.cleanup();
    }
  };

  it('`connectors list` and a plain-http `call` load none of the larger built-ins, and leave stdin alone', async () => {
    home = tempHome();
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"emailAddress":"ann@example.com"}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      const { port } = upstream.address() as AddressInfo;
      const env = {
        ...home.env,
        CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${port}`,
        CONNECTR_GMAIL_TOKEN: 't',
      };
      for (const args of [
        ['connectors', 'list'],
        ['call', 'gmail', 'get_profile'],
      ]) {
        // The second run is the usual one: the first fills the caches.
        await loadedBy(args, env);
        const { modules, stdin } = await loadedBy(args, env);
        expect({ args, larger: LARGER.filter((m) => modules.includes(m)), stdin }).toEqual({
          args,
          larger: [],
          stdin: false,
        });
      }
    } finally {
      upstream.close();
    }
  });

  it("the first call on an empty home, with a connector of the user's own too, loads none of the larger built-ins, nor the connector schema's zod", async () => {
    // An empty home (CI, a container, the first run after an upgrade) checks the built-in files
    // against the build's copy, reads the user's own definition, and writes its caches: none
    // of it may cost node:crypto or the promise API of fs (issue #20), nor zod, whose schema
    // took most of reading the definition: the check generated from it answers (fast-check.ts).
    home = tempHome();
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"emailAddress":"ann@example.com"}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const own = join(home.dir, 'own');
    try {
      const { port } = upstream.address() as AddressInfo;
      mkdirSync(own);
      writeFileSync(
        join(own, 'profiles.yaml'),
        [
          'name: profiles',
          'display_name: Profiles',
          'version: 1',
          'docs_url: https://example.com/docs',
          'description: A local API of the user.',
          'hosts:',
          `  api: http://127.0.0.1:${port}`,
          'auth: {type: api_key, in: header, name: Authorization, prefix: "Bearer "}',
          'endpoints:',
          '  get_profile: {summary: A profile., method: GET, path: /profile}',
          '',
        ].join('\n'),
      );
      const commands: [string[], Record<string, string>][] = [
        [
          ['call', 'gmail', 'get_profile'],
          { CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${port}`, CONNECTR_GMAIL_TOKEN: 't' },
        ],
        [['--connectors-dir', own, 'call', 'profiles', 'get_profile'], { CONNECTR_PROFILES_TOKEN: 't' }],
      ];
      for (const [args, extra] of commands) {
        const empty = tempHome();
        try {
          const { modules, schema } = await loadedBy(args, { ...empty.env, ...extra });
          expect({ args, larger: LARGER.filter((m) => modules.includes(m)), schema }).toEqual({
            args,
            larger: [],
            schema: false,
          });
        } finally {
          empty.cleanup();
        }
      }
      // So the check above can fail: a definition the generated check leaves to the schema (a
      // URL with a space before it, which zod trims) is read with zod, and still works.
      const odd = join(home.dir, 'odd');
      mkdirSync(odd);
      writeFileSync(
        join(odd, 'profiles.yaml'),
        readFileSync(join(own, 'profiles.yaml'), 'utf8').replace(
          'docs_url: https://example.com/docs',
          'docs_url: " https://example.com/docs"',
        ),
      );
      const empty = tempHome();
      try {
        const { schema } = await loadedBy(['--connectors-dir', odd, 'call', 'profiles', 'get_profile'], {
          ...empty.env,
          CONNECTR_PROFILES_TOKEN: 't',
        });
        expect(schema).toBe(true);
      } finally {
        empty.cleanup();
      }
    } finally {
      upstream.close();
    }
  });

  it('sees stdin read where a command reads it (so the check above can fail)', async () => {
    home = tempHome();
    const { stdin } = await loadedBy(
      ['apps', 'set', 'gmail', '--client-id', 'id', '--client-secret-stdin'],
      home.env,
      'secret\n',
    );
    expect(stdin).toBe(true);
  });
});
