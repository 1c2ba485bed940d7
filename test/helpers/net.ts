import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Whether something accepts TCP connections on host:port. */
export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for servers a test starts later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A request a recording server received, body included. */
export interface Hit {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** An HTTP server on a loopback address that records every request it is sent. */
export interface RecordingServer {
  readonly server: Server;
  /** `http://host:port`, an IPv6 host in brackets. */
  readonly origin: string;
  readonly hits: Hit[];
  close(): Promise<void>;
}

/**
 * Starts a recording server on `host` port 0, answering with `handle` once a request's body
 * has arrived; undefined where the machine has no such address (127.0.0.2 off Linux, ::1
 * without IPv6).
 */
export async function recordingServer(
  host: string,
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<RecordingServer | undefined> {
  const hits: Hit[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
  } catch {
    return undefined;
  }
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { server, origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, hits, close };
}
