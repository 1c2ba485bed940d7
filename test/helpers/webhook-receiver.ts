import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A webhook receiver on 127.0.0.1 that verifies every delivery with the official Standard
 * Webhooks library (`standardwebhooks` on npm), never with a signature of its own: a delivery
 * connectr signed differently from the specification is recorded as unverified. Its behaviour
 * is switched by the test: answer 2xx, fail, redirect, stall, or 410 Gone.
 */

export type ReceiverMode = 'ok' | 'fail' | 'redirect' | 'slow' | 'gone';

export interface Delivery {
  readonly method: string;
  readonly path: string;
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** Which of the receiver's secrets verified it (by index); empty: none did. */
  readonly verifiedWith: number[];
  /** What the receiver answered. */
  readonly answered: ReceiverMode;
}

export interface Receiver {
  readonly url: string;
  mode: ReceiverMode;
  /** The secrets a delivery is verified with; each verifies or not on its own. */
  secrets: string[];
  /** Every request, in arrival order (failed attempts too). */
  readonly requests: Delivery[];
  /** Deliveries verified and answered 2xx, in arrival order. */
  accepted(): Delivery[];
  /** Waits until `check` holds of the accepted deliveries (polling, bounded). */
  waitFor(check: (accepted: Delivery[]) => boolean, timeoutMs?: number): Promise<Delivery[]>;
  close(): Promise<void>;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

export async function startReceiver(secrets: string[] = []): Promise<Receiver> {
  const stalled = new Set<ServerResponse>();
  const requests: Delivery[] = [];
  const receiver = {
    url: '',
    mode: 'ok' as ReceiverMode,
    secrets,
    requests,
    accepted: () => requests.filter((d) => d.answered === 'ok' && d.verifiedWith.length > 0),
    async waitFor(check: (accepted: Delivery[]) => boolean, timeoutMs = 15_000): Promise<Delivery[]> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const accepted = receiver.accepted();
        if (check(accepted)) return accepted;
        if (Date.now() > until)
          throw new Error(
            `the receiver did not get what the test waits for: ${JSON.stringify(accepted.map((d) => d.type))}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: async () => {
      for (const response of stalled) response.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': header(request.headers, 'webhook-id'),
        'webhook-timestamp': header(request.headers, 'webhook-timestamp'),
        'webhook-signature': header(request.headers, 'webhook-signature'),
      };
      const verifiedWith = receiver.secrets.flatMap((secret, index) => {
        try {
          new Webhook(secret).verify(body, headers);
          return [index];
        } catch {
          return [];
        }
      });
      let parsed: { type?: string; data?: Record<string, unknown> } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        // Recorded as it came.
      }
      const answered = receiver.mode;
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body,
        type: parsed.type ?? '',
        data: parsed.data ?? {},
        verifiedWith,
        answered,
      });
      switch (answered) {
        case 'ok':
          response.writeHead(verifiedWith.length > 0 ? 204 : 401).end();
          break;
        case 'fail':
          response.writeHead(503).end('down for maintenance');
          break;
        case 'redirect':
          response.writeHead(302, { location: `${receiver.url}/elsewhere` }).end();
          break;
        case 'gone':
          response.writeHead(410).end();
          break;
        case 'slow':
          stalled.add(response);
          response.on('close', () => stalled.delete(response));
          break;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
