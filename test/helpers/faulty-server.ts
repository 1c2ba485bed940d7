import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Servers on 127.0.0.1 that misbehave on purpose: an HTTP server whose answer each test
 * writes by hand (stall, reset, redirect for ever), and a proxy that accepts connections and
 * then drops or ignores them. Each counts what reached it.
 */
export type FaultHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FaultyServer {
  readonly url: string;
  /** `METHOD /path?query` of each request, with its raw headers. */
  readonly requests: { line: string; headers: string[] }[];
  handle(handler: FaultHandler): void;
  close(): Promise<void>;
}

export async function startFaultyServer(): Promise<FaultyServer> {
  let handler: FaultHandler = (_req, res) => res.writeHead(404).end();
  const requests: { line: string; headers: string[] }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push({ line: `${req.method ?? ''} ${req.url ?? ''}`, headers: req.rawHeaders });
    handler(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    requests,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface BrokenProxy {
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A proxy that reads the first bytes of each connection (the CONNECT line) and then drops the
 * connection (`drop`) or never answers (`hang`).
 */
export async function startBrokenProxy(mode: 'drop' | 'hang'): Promise<BrokenProxy> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (mode === 'drop') socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    connections: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
