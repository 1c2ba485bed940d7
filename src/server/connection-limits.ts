import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import { ERROR_HEADER, envelope } from './errors.js';
import { REQUEST_ID_HEADER } from './plugins/request-id.js';

/**
 * Caps on open client connections: in all, and per remote address (an IPv6 address counts by
 * its /64, what one host usually holds). A plain cap (Node's `server.maxConnections`) refuses
 * every new connection once it is reached, `GET /health` included, so clients that hold
 * sockets without sending anything useful would stop the server for everyone. Instead, a new
 * connection over a cap makes room by closing the connection of that address (or, over the
 * global cap, of any address) that has been waiting longest without a request being answered:
 * one that has not finished sending its headers, or an idle keep-alive one. Only when every
 * connection is busy with a request is the new one refused, with a 503. Slow clients thus
 * push out each other, oldest first, while a client that sends a whole request at once is
 * answered.
 */

export interface ConnectionLimits {
  /** Most client connections open at once. */
  readonly max: number;
  /** Most from one address (IPv6: one /64); 0: no cap of its own, only `max`. */
  readonly perAddress: number;
}

export { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from './settings.js';

/** What the server tells about connections it closed or refused (bounded: one line per period). */
export type LimitsReport = (counts: { readonly closed: number; readonly refused: number }) => void;

interface Tracked {
  readonly address: string;
  /** Requests of this connection being answered; 0: it waits for headers, or is idle. */
  busy: number;
}

/** How often, at most, `report` is called while connections are being closed or refused. */
const REPORT_EVERY_MS = 10_000;

export function limitConnections(server: Server, limits: ConnectionLimits, report?: LimitsReport): void {
  // Insertion order is the order in which connections last changed state: the first one that
  // is not busy has been waiting longest.
  const all = new Map<Socket, Tracked>();
  const byAddress = new Map<string, Map<Socket, Tracked>>();
  let closed = 0;
  let refused = 0;
  let reportTimer: NodeJS.Timeout | undefined;

  const counted = (): void => {
    if (report === undefined || reportTimer !== undefined) return;
    reportTimer = setTimeout(() => {
      reportTimer = undefined;
      report({ closed, refused });
      closed = 0;
      refused = 0;
    }, REPORT_EVERY_MS).unref();
  };

  const touch = (socket: Socket, entry: Tracked): void => {
    all.delete(socket);
    all.set(socket, entry);
    const mine = byAddress.get(entry.address);
    if (mine === undefined) return;
    mine.delete(socket);
    mine.set(socket, entry);
  };

  const forget = (socket: Socket, entry: Tracked): void => {
    all.delete(socket);
    const mine = byAddress.get(entry.address);
    mine?.delete(socket);
    if (mine?.size === 0) byAddress.delete(entry.address);
  };

  /** Closes the longest-waiting connection of `among` that is not busy; false when all are. */
  const makeRoom = (among: Map<Socket, Tracked>): boolean => {
    for (const [socket, entry] of among)
      if (entry.busy === 0) {
        forget(socket, entry);
        socket.destroy();
        closed += 1;
        counted();
        return true;
      }
    return false;
  };

  server.on('connection', (socket: Socket) => {
    const address = addressKey(socket.remoteAddress);
    const mine = byAddress.get(address);
    const full =
      (limits.perAddress > 0 && mine !== undefined && mine.size >= limits.perAddress && !makeRoom(mine)) ||
      (all.size >= limits.max && !makeRoom(all));
    if (full) {
      refused += 1;
      counted();
      refuse(socket);
      return;
    }
    const entry: Tracked = { address, busy: 0 };
    all.set(socket, entry);
    if (mine === undefined) byAddress.set(address, new Map([[socket, entry]]));
    else mine.set(socket, entry);
    socket.once('close', () => {
      forget(socket, entry);
    });
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const entry = all.get(socket);
    if (entry === undefined) return;
    entry.busy += 1;
    touch(socket, entry);
    response.once('close', () => {
      entry.busy -= 1;
      // Idle from now on: the keep-alive wait counts from the answer, not from the connection.
      if (all.has(socket)) touch(socket, entry);
    });
  });

  server.once('close', () => {
    clearTimeout(reportTimer);
  });
}

/** A 503 in the envelope, written before the request was read, then the socket is closed. */
function refuse(socket: Socket): void {
  const text = JSON.stringify(
    envelope(
      'unavailable',
      'the server has too many open connections',
      [],
      'retry in a moment; reuse connections (keep-alive) rather than opening many',
    ),
  );
  const head = [
    'HTTP/1.1 503 Service Unavailable',
    `${REQUEST_ID_HEADER}: ${randomUUID()}`,
    `${ERROR_HEADER}: 1`,
    'retry-after: 1',
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(text)}`,
    'connection: close',
  ];
  // Nothing more is read from a refused client: its request is not for the app.
  socket.pause();
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
  // A client that does not read it does not keep the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * The address connections are counted by: IPv4 as it is (also when mapped into IPv6), IPv6 by
 * its first 64 bits, since one host usually has a whole /64 to pick addresses from.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => (Number.parseInt(group, 16) || 0).toString(16))
    .join(':')}::/64`;
}
