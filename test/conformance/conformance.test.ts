import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint, Param } from '../../src/core/connector/model.js';
import { BUILTIN_CONNECTORS_DIR, loadRegistry } from '../../src/core/connector/registry.js';
import { getPath } from '../../src/core/json-path.js';
import { counts, intervalOf } from '../../src/core/limits/spec.js';
import { runCli, VirtualClock } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';
import type { RecordedRequest } from '../fixtures/emulators/server.js';
import { CASES, requestsOn } from './cases.js';
import type { ConnectorCase, EndpointCase, Expectation, World } from './cases.js';

/**
 * Every endpoint of every connector in connectors/, called through `connectr call` against an
 * emulator that checks what the real service checks, plus the same fault and pagination checks
 * for each connector (as rclone runs every backend through one suite).
 */
const registry = await loadRegistry();

/** Per connector and endpoint, the params the endpoint cases were seen to send on the wire. */
const sentParams = new Map<string, Set<string>>();
const sentKey = (connector: string, endpoint: string): string => `${connector}.${endpoint}`;

describe('the conformance suite covers every connector and endpoint', () => {
  it('has a case for every built-in connector file', () => {
    const files = readdirSync(BUILTIN_CONNECTORS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(CASES.map((c) => `${c.connector}.yaml`).sort()).toEqual(files.sort());
  });
  it.each(CASES.map((c) => c.connector))('%s: has a case for every endpoint', (name) => {
    const connector = registry.require(name);
    const cases = CASES.find((c) => c.connector === name);
    expect(Object.keys(cases?.endpoints ?? {}).sort()).toEqual(connector.endpoints.map((e) => e.name).sort());
  });
  it.each(CASES.map((c) => c.connector))('%s: checks --all on every paginated endpoint', (name) => {
    const connector = registry.require(name);
    const paginated = connector.endpoints.filter(
      (e) => e.pagination && !e.name.endsWith('_continue') && e.name !== 'list_shared_links',
    );
    expect(Object.keys(CASES.find((c) => c.connector === name)?.pagination ?? {}).sort()).toEqual(
      paginated.map((e) => e.name).sort(),
    );
  });
});

for (const connectorCase of CASES) {
  describe(`conformance: ${connectorCase.connector}`, () => {
    const { world, call } = useWorld(connectorCase);

    for (const [endpoint, endpointCase] of Object.entries(connectorCase.endpoints)) {
      it(`${endpoint} sends what the API expects`, async () => {
        await runEndpointCase(connectorCase, world(), call, endpoint, endpointCase);
      });
    }

    it('sends every declared param of every endpoint at least once', async () => {
      // Self-contained: endpoint cases that did not run here (e.g. under -t) run now.
      for (const [endpoint, endpointCase] of Object.entries(connectorCase.endpoints)) {
        if (!sentParams.has(sentKey(connectorCase.connector, endpoint))) {
          await runEndpointCase(connectorCase, world(), call, endpoint, endpointCase);
        }
      }
      const never = registry
        .require(connectorCase.connector)
        .endpoints.flatMap((e) =>
          e.params
            .filter((p) => !sentParams.get(sentKey(connectorCase.connector, e.name))?.has(p.key))
            .map((p) => `${e.name} ${p.key} (--${p.flag})`),
        );
      expect(never, 'declared params no case sends: add them to test/conformance/cases.ts').toEqual([]);
    });

    it('sends the credential only to its own hosts, as a bearer token', async () => {
      const before = Object.fromEntries(
        Object.entries(world().hosts).map(([host, e]) => [host, e.requests.length]),
      );
      for (const { endpoint, args } of connectorCase.everyHost) {
        const r = await call(endpoint, args(world()));
        expect(r.code, r.stderr).toBe(0);
      }
      for (const [host, emulator] of Object.entries(world().hosts)) {
        expect(emulator.requests.length, `requests on ${host}`).toBeGreaterThan(before[host] ?? 0);
        for (const req of emulator.requests) {
          if (['uploads', 'downloads'].includes(host)) expect(req.headers.authorization).toBeUndefined();
          else expect(req.headers.authorization).toBe(`Bearer ${world().token}`);
        }
      }
    });
  });

  // Faults and pagination on a fresh emulator: the endpoint cases above changed its files.
  describe(`conformance: ${connectorCase.connector} behaviour`, () => {
    const { world, call } = useWorld(connectorCase);

    it('honours 429 with Retry-After, then succeeds', async () => {
      const { endpoint, args } = connectorCase.idempotent;
      const host = Object.values(world().hosts)[0];
      host?.faults.push({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'rate limited' } });
      const clock = new VirtualClock();
      const before = host?.requests.length ?? 0;
      const r = await call(endpoint, args, clock);
      expect(r.code, r.stderr).toBe(0);
      // The retry waited the second the server asked for (on the virtual clock).
      expect(clock.slept).toBeGreaterThanOrEqual(1000);
      expect((host?.requests.length ?? 0) - before).toBe(2);
    });

    it('retries a 5xx and a dropped connection on an idempotent call', async () => {
      const { endpoint, args } = connectorCase.idempotent;
      const host = Object.values(world().hosts)[0];
      host?.faults.push({ status: 503, body: {} }, { drop: true });
      const before = host?.requests.length ?? 0;
      const r = await call(endpoint, args);
      expect(r.code, r.stderr).toBe(0);
      expect((host?.requests.length ?? 0) - before).toBe(3);
    });

    it('does not repeat a non-idempotent call whose connection dropped', async () => {
      const { endpoint, args } = connectorCase.nonIdempotent;
      const host = Object.values(world().hosts)[0];
      host?.faults.push({ drop: true });
      const before = host?.requests.length ?? 0;
      const r = await call(endpoint, args);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(
        'the request may have reached the server, so it was not repeated automatically',
      );
      expect((host?.requests.length ?? 0) - before).toBe(1);
    });

    for (const [endpoint, page] of Object.entries(connectorCase.pagination)) {
      it(`${endpoint} --all follows ${page.minPages}+ pages as NDJSON`, async () => {
        const host = Object.values(world().hosts)[0];
        const before = host?.requests.length ?? 0;
        // The pages take their turns under the connector's declared limits: waits the virtual
        // clock records (GitHub's code search allows 9 calls a minute: the pages would take
        // 27 s of real time), at least what each limit's spacing makes `pages` calls wait.
        const clock = new VirtualClock();
        const r = await call(endpoint, [...(await page.args(world())), '--all'], clock);
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stdout.trim().split('\n');
        expect(lines).toHaveLength(page.items);
        for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
        const pages = (host?.requests.length ?? 0) - before;
        expect(pages).toBeGreaterThanOrEqual(page.minPages);
        const limits = registry.require(connectorCase.connector).rateLimits?.limits ?? [];
        const least = Math.max(
          0,
          ...limits
            .filter((limit) => counts(limit, endpoint))
            .map((limit) => (pages - (limit.burst ?? 1)) * intervalOf(limit)),
        );
        // Less the real time that passed between the calls, which counts towards the turns.
        expect(clock.slept).toBeGreaterThanOrEqual(least * 0.9 - 1000);
        const limited = await call(endpoint, [...(await page.args(world())), '--all', '--limit', '3']);
        expect(limited.stdout.trim().split('\n')).toHaveLength(3);
        const paged = await call(endpoint, [...(await page.args(world())), '--all', '--max-pages', '1']);
        expect(paged.stdout.trim().split('\n').length).toBeLessThan(page.items);
      });
    }
  });
}

/**
 * Calls one endpoint as its case says, checks the request the emulator received, and notes
 * which of the endpoint's declared params went on the wire.
 */
async function runEndpointCase(
  connectorCase: ConnectorCase,
  world: World,
  call: (endpoint: string, args: string[]) => ReturnType<typeof runCli>,
  endpoint: string,
  endpointCase: EndpointCase,
): Promise<void> {
  const args = await endpointCase.args(world);
  const expectation =
    typeof endpointCase.expect === 'function' ? endpointCase.expect(world) : endpointCase.expect;
  const seen = requestsOn(world, expectation.host).length;
  const r = await call(endpoint, args);
  expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
  expect(r.code).toBe(0);
  const sent = requestsOn(world, expectation.host).slice(seen);
  expect(sent.length, `requests on ${expectation.host}`).toBeGreaterThanOrEqual(1);
  checkRequest(sent[0], expectation, world.token);
  endpointCase.output?.(r.stdout, r.stderr);
  const definition = registry.require(connectorCase.connector).endpoints.find((e) => e.name === endpoint);
  const params = sentParams.get(sentKey(connectorCase.connector, endpoint)) ?? new Set<string>();
  sentParams.set(sentKey(connectorCase.connector, endpoint), params);
  for (const param of definition?.params ?? []) {
    if (definition && sent[0] && onTheWire(sent[0], definition, param)) params.add(param.key);
    // An upload through a session hands its params to the session's endpoints (Slack's three
    // steps never send the upload's own request): the value the case gave is in one of them.
    const given = definition?.upload_session ? valueOf(args, param.flag) : undefined;
    if (given !== undefined && sent.some((req) => valuesIn(req).includes(given))) params.add(param.key);
  }
}

/** The value given after `--flag` in a case's arguments. */
function valueOf(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(`--${flag}`);
  return at >= 0 ? args[at + 1] : undefined;
}

/** Every value a request carries: query and form values, and the strings of a JSON body. */
function valuesIn(req: RecordedRequest): string[] {
  const values = [...req.url.searchParams.values()];
  const text = req.body.toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded'))
    values.push(...new URLSearchParams(text).values());
  if (type.startsWith('application/json')) {
    const walk = (value: unknown): void => {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        values.push(String(value));
      else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(JSON.parse(text || 'null') as unknown);
  }
  return values;
}

/** Whether `param` of `endpoint` is present in a request that called the endpoint. */
function onTheWire(req: RecordedRequest, endpoint: Endpoint, param: Param): boolean {
  const field = param.field ?? [param.wireName];
  switch (param.in) {
    case 'path':
      // The template has the placeholder: a request on the endpoint's route carries it.
      return true;
    case 'query':
      return req.url.searchParams.has(param.wireName);
    case 'header':
      return req.headers[param.wireName.toLowerCase()] !== undefined;
    case 'raw':
      return req.bodyLength > 0;
    case 'form':
      return new URLSearchParams(req.body.toString('utf8')).has(param.wireName);
    case 'body':
      return getPath(JSON.parse(req.body.toString('utf8') || 'null') as unknown, field) !== undefined;
    case 'json_header': {
      const header = endpoint.request?.json_header;
      const text = header === undefined ? undefined : req.headers[header.toLowerCase()];
      return typeof text === 'string' && getPath(JSON.parse(text) as unknown, field) !== undefined;
    }
  }
}

/** A fresh emulator world for a describe block, and `connectr call` pointed at it. */
function useWorld(connectorCase: ConnectorCase): {
  world: () => World;
  call: (endpoint: string, args: string[], clock?: VirtualClock) => ReturnType<typeof runCli>;
} {
  let current: World | undefined;
  const home = tempHome();
  const dir = mkdtempSync(join(tmpdir(), 'connectr-conformance-'));
  beforeAll(async () => {
    current = await connectorCase.start(dir);
  });
  afterAll(async () => {
    await current?.close();
    home.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const world = (): World => {
    if (!current) throw new Error('the emulator world is used outside a test');
    return current;
  };
  return {
    world,
    // A virtual clock by default: Retry-After and the rate limits' turns take no real time.
    call: (endpoint, args, clock = new VirtualClock()) =>
      runCli(
        ['call', connectorCase.connector, endpoint, ...args],
        { ...home.env, ...world().env },
        { clock },
      ),
  };
}

function checkRequest(req: RecordedRequest | undefined, expected: Expectation, token: string): void {
  expect(req).toBeDefined();
  if (!req) return;
  expect(`${req.method} ${req.url.pathname}`).toBe(`${expected.method} ${expected.path}`);
  expect(req.headers.authorization).toBe(`Bearer ${token}`);
  for (const [key, value] of Object.entries(expected.query ?? {})) {
    expect(req.url.searchParams.getAll(key), `query ${key}`).toEqual(Array.isArray(value) ? value : [value]);
  }
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    const actual = req.headers[name];
    if (value instanceof RegExp) expect(actual, name).toMatch(value);
    else expect(actual, name).toBe(value);
  }
  if (expected.json !== undefined)
    expect(JSON.parse(req.body.toString('utf8'))).toMatchObject(expected.json as object);
  if (expected.body !== undefined) expect(req.body.toString('utf8')).toBe(expected.body);
}
