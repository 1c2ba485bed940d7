import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/**
 * `connectr connectors import openapi` on real public documents (read from npm packages in
 * node_modules, never committed): the Petstore round trip through `call` against a local
 * server, and GitHub's REST API (over a thousand operations).
 */
const require = createRequire(import.meta.url);
const petstore30 = require.resolve('@readme/oas-examples/3.0/yaml/petstore.yaml');
const petstore31 = require.resolve('@readme/oas-examples/3.1/json/petstore.json');
const github = require.resolve('@octokit/openapi/generated/api.github.com.json');

describe('connectors import openapi', () => {
  const home = tempHome();
  const dir = join(home.dir, 'imported');
  let api: Emulator;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    api = await startEmulator((req, res) => {
      const pet = /^\/v2\/pet\/(\d+)$/.exec(req.url.pathname);
      if (req.method === 'GET' && pet) {
        sendJson(res, 200, { id: Number(pet[1]), name: 'Rex', photoUrls: [] });
        return;
      }
      if (req.method === 'GET' && req.url.pathname === '/v2/pet/findByStatus') {
        sendJson(res, 200, [{ id: 1, name: 'Rex', status: req.url.searchParams.getAll('status').join(',') }]);
        return;
      }
      sendJson(res, 404, { message: 'not found' });
    });
  });
  afterAll(async () => {
    await api.close();
    home.cleanup();
  });

  it('round trip: imports the Petstore, validates it, and calls an endpoint on a local server', async () => {
    const out = join(dir, 'petstore.yaml');
    const imported = await runCli(
      ['connectors', 'import', 'openapi', petstore30, '--name', 'petstore', '--out', out],
      home.env,
    );
    expect(imported.code, imported.stderr).toBe(0);
    const summary = JSON.parse(imported.stdout) as { unmapped: string[] };
    expect(summary).toMatchObject({ name: 'petstore', operations: 20, endpoints: 20 });
    expect(summary.unmapped.join('\n')).toMatch(/implicit flow[\s\S]*multipart/);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# Imported from .*petstore\.yaml by connectr connectors import openapi\./);
    expect(text).toMatch(/^# Not mapped \(2\):$/m);

    const validated = await runCli(['connectors', 'validate', out], home.env);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);

    const env = {
      ...home.env,
      CONNECTR_PETSTORE_API_BASE_URL: `${api.url}/v2`,
      PETSTORE_API_KEY: 'special-key',
    };
    const call = await runCli(
      ['--connectors-dir', dir, 'call', 'petstore', 'get_pet_by_id', '--pet-id', '7'],
      env,
    );
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toEqual({ id: 7, name: 'Rex', photoUrls: [] });
    const request = api.requests.at(-1);
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/v2/pet/7');
    expect(request?.headers.api_key).toBe('special-key');

    const query = await runCli(
      [
        '--connectors-dir',
        dir,
        'call',
        'petstore',
        'find_pets_by_status',
        '--status',
        'available',
        '--status',
        'sold',
      ],
      env,
    );
    expect(query.code, query.stderr).toBe(0);
    expect(api.requests.at(-1)?.url.search).toBe('?status=available&status=sold');
    expect(api.requests.at(-1)?.headers.api_key).toBe('special-key');
  });

  it('prints the definition on stdout without --out, and the 3.1 Petstore too', async () => {
    const r = await runCli(['connectors', 'import', 'openapi', petstore31], home.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^name: swagger-petstore$/m);
    expect(r.stderr).toMatch(
      /Imported 20 endpoint\(s\) of 20 operation\(s\) as connector "swagger-petstore"/,
    );
  });

  it('refuses to replace --out without --force; replaces it with --force', async () => {
    const out = join(dir, 'existing.yaml');
    writeFileSync(out, 'keep me');
    const refused = await runCli(['connectors', 'import', 'openapi', petstore30, '--out', out], home.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/existing\.yaml exists; not replacing it[\s\S]*--force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = await runCli(
      ['connectors', 'import', 'openapi', petstore30, '--out', out, '--force'],
      home.env,
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^name: swagger-petstore$/m);
  });

  it('writes nothing when the document is bad, and names the place', async () => {
    const bad = join(home.dir, 'cycle.yaml');
    writeFileSync(
      bad,
      'openapi: 3.0.3\ninfo: {title: x, version: "1"}\nservers: [{url: "https://x.example.com"}]\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: "#/components/schemas/A"}\n',
    );
    const out = join(dir, 'never.yaml');
    const r = await runCli(['connectors', 'import', 'openapi', bad, '--out', out], home.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\$ref cycle at #\/components\/schemas\/A\/\$ref/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
  });

  it("imports GitHub's REST API: over a thousand operations, valid, with what was not mapped listed", async () => {
    const out = join(dir, 'github.yaml');
    const started = performance.now();
    const r = await runCli(
      ['connectors', 'import', 'openapi', github, '--name', 'github', '--out', out],
      home.env,
    );
    const ms = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { operations: number; endpoints: number; unmapped: string[] };
    expect(summary.operations).toBeGreaterThan(1000);
    expect(summary.endpoints).toBe(summary.operations);
    expect(summary.unmapped.length).toBeGreaterThan(0);
    expect(summary.unmapped.join('\n')).toMatch(/object query param/);
    const validated = await runCli(['connectors', 'validate', out], home.env);
    expect(validated.code, validated.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/pagination:\n\s+style: link_header/);
    console.info(`github import: ${summary.operations} operations in ${Math.round(ms)} ms`);
  }, 120_000);
});
