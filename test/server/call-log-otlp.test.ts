import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpSettings, spanModuleLoaded } from '../../src/server/telemetry/otlp.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { callApi, withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a small OTLP/HTTP receiver on
 * 127.0.0.1 (standing in for a collector), each call of the daemon arrives as a span carrying
 * its request id, and no span holds a token; spans still waiting are sent when the app closes.
 */

const API_KEY = 'otlp-SECRET-api-key';
const SECRET_PARAM = 'otlp-SECRET-passphrase';
const TOKEN_IN_QUERY = 'otlp-SECRET-token';

/** Answers every API call 200 when the key is right. */
function upstreamServer(): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const ok = new URL(req.url ?? '', 'http://x').searchParams.get('key') === API_KEY;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok }));
    });
  });
}

interface Received {
  path: string;
  contentType: string;
  body: string;
}

/** The collector: keeps every export request. */
function collectorServer(received: Received[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Attribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string };
}
interface OtlpSpan {
  name: string;
  attributes: Attribute[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: Attribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const attribute = (attributes: Attribute[], key: string): string | number | undefined => {
  const value = attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

const CONNECTOR = `name: otq
display_name: otq
version: 1
docs_url: https://example.com/docs
description: Test.
hosts:
  api: https://otq.example.com/api
auth:
  type: api_key
  in: query
  name: key
endpoints:
  search:
    summary: Search.
    method: GET
    path: /search
    params:
      passphrase:
        in: query
        secret: true
`;

describe('the OTLP settings', () => {
  it('read the standard variables: the traces endpoint as given, else /v1/traces under the general one', () => {
    expect(otlpSettings({})).toBeUndefined();
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' })?.url).toBe(
      'http://127.0.0.1:4318/v1/traces',
    );
    expect(
      otlpSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      })?.url,
    ).toBe('http://b:4318/custom');
    expect(
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a' })?.serviceName).toBe('connectr');
    // A header that would split the request is dropped, not sent.
    expect(
      otlpSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%20d,bad name=x,x-evil=a%0D%0Ab',
      })?.headers,
    ).toEqual({ 'api-key': 'abc d' });
  });
});

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`OTLP spans on ${variantTitle(variant)}`, () => {
    const upstream = upstreamServer();
    const received: Received[] = [];
    const collector = collectorServer(received);
    let daemon: TestDaemon;
    let key = '';
    let connection = '';

    beforeAll(async () => {
      const upstreamOrigin = await listen(upstream);
      const collectorOrigin = await listen(collector);
      daemon = await withServer({
        backend: variant,
        connectors: { otq: CONNECTOR },
        env: {
          CONNECTR_OTQ_API_BASE_URL: `${upstreamOrigin}/q`,
          OTEL_EXPORTER_OTLP_ENDPOINT: collectorOrigin,
          OTEL_SERVICE_NAME: 'connectr-test',
        },
        listen: true,
      });
      const project = await daemon.project();
      key = await daemon.key(project);
      connection = await daemon.connection(project, { connector: 'otq', secret: { api_key: API_KEY } });
    });
    afterAll(async () => {
      await daemon.close();
      await close(upstream);
      await close(collector);
    });

    it('sends each call as a span with its request id and no token, the last ones at shutdown', async () => {
      expect(spanModuleLoaded()).toBe(true);
      const executed = await callApi(daemon.base, 'POST', '/api/v1/proxy/execute', key, {
        connection_id: connection,
        endpoint: 'search',
        params: { passphrase: SECRET_PARAM },
      });
      expect(executed.status, executed.text).toBe(200);
      const proxied = await fetch(
        `${daemon.base}/api/v1/connections/${connection}/proxy/search?passphrase=${SECRET_PARAM}&token=${TOKEN_IN_QUERY}`,
        { headers: { authorization: `Bearer ${key}` } },
      );
      expect(proxied.status).toBe(200);
      await proxied.text();
      // Spans leave in batches every few seconds; closing sends what waits.
      await daemon.app.close();

      expect(received.length).toBeGreaterThan(0);
      for (const r of received) {
        expect(r.path).toBe('/v1/traces');
        expect(r.contentType).toContain('application/json');
        for (const secret of [API_KEY, SECRET_PARAM, TOKEN_IN_QUERY, key])
          expect(r.body).not.toContain(secret);
      }
      const exports = received.map((r) => JSON.parse(r.body) as OtlpExport);
      const spans = exports.flatMap((e) =>
        e.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
      );
      const resource = exports[0]?.resourceSpans[0]?.resource.attributes ?? [];
      expect(attribute(resource, 'service.name')).toBe('connectr-test');
      const byId = (id: string | null): OtlpSpan | undefined =>
        spans.find((s) => attribute(s.attributes, 'connectr.request_id') === id);
      const execSpan = byId(executed.headers.get('x-request-id'));
      expect(execSpan?.attributes && attribute(execSpan.attributes, 'connectr.endpoint')).toBe('search');
      expect(execSpan?.attributes && attribute(execSpan.attributes, 'http.response.status_code')).toBe(200);
      const proxySpan = byId(proxied.headers.get('x-request-id'));
      expect(proxySpan?.attributes && attribute(proxySpan.attributes, 'url.path')).toBe(
        '/search?passphrase=[REDACTED]&token=[REDACTED]',
      );
      expect(proxySpan?.attributes && attribute(proxySpan.attributes, 'connectr.connection_id')).toBe(
        connection,
      );
    });
  });

  describe.skipIf(variant.skip !== undefined)(`a stalled collector on ${variantTitle(variant)}`, () => {
    it('holds neither a call nor the shutdown: the spans are given up after the export time limit', async () => {
      // Takes every request and never answers.
      const stalled = createServer((req) => {
        req.resume();
      });
      const collectorOrigin = await listen(stalled);
      const upstream = upstreamServer();
      const upstreamOrigin = await listen(upstream);
      const daemon = await withServer({
        backend: variant,
        connectors: { otq: CONNECTOR },
        env: {
          CONNECTR_OTQ_API_BASE_URL: `${upstreamOrigin}/q`,
          OTEL_EXPORTER_OTLP_ENDPOINT: collectorOrigin,
        },
        listen: true,
      });
      try {
        const project = await daemon.project();
        const key = await daemon.key(project);
        const connection = await daemon.connection(project, {
          connector: 'otq',
          secret: { api_key: API_KEY },
        });
        const started = Date.now();
        const executed = await callApi(daemon.base, 'POST', '/api/v1/proxy/execute', key, {
          connection_id: connection,
          endpoint: 'search',
        });
        expect(executed.status).toBe(200);
        expect(Date.now() - started).toBeLessThan(2000);
        const closing = Date.now();
        await daemon.app.close();
        expect(Date.now() - closing).toBeLessThan(12_000);
      } finally {
        await daemon.close();
        await close(upstream);
        await close(stalled);
      }
    }, 30_000);
  });
}
