import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startListener } from '../../../src/server/store/notify.js';
import type { Listener, ListenerOptions } from '../../../src/server/store/notify.js';

/**
 * The LISTEN connection when PostgreSQL misbehaves (store/notify.ts): a server that accepts and
 * never answers, one that hangs up at once. The listener keeps trying in the background with a
 * growing wait, never throws, and `stop` ends it promptly, leaving nothing that keeps the
 * process alive. (A real PostgreSQL killing the connection: test/server/notify.test.ts.)
 */

const servers: Server[] = [];
const sockets = new Set<Socket>();
let listener: Listener | undefined;

afterEach(async () => {
  await listener?.stop();
  listener = undefined;
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function fakePostgres(onSocket: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `postgres://nobody@127.0.0.1:${(server.address() as AddressInfo).port}/nothing`;
}

/** Handles that would keep the process running (sockets, timers), by kind. */
function liveHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout');
}

function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() > end) reject(new Error('timed out'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** A listener on `url` that ignores what it is not asked about. */
function listen(url: string, options: Partial<ListenerOptions>): Listener {
  return startListener({
    url,
    connectMs: 1000,
    onMessage: () => undefined,
    onListening: () => undefined,
    onDown: () => undefined,
    ...options,
  });
}

describe('the listening connection', () => {
  it('a server that hangs up at once: tried again and again, each wait longer up to the most', async () => {
    const url = await fakePostgres((socket) => socket.destroy());
    const waits: number[] = [];
    let listening = false;
    listener = listen(url, {
      retryMs: 10,
      maxRetryMs: 80,
      onListening: () => (listening = true),
      onDown: (_, retryMs) => waits.push(retryMs),
    });
    await waitFor(() => waits.length >= 6, 5000);
    expect(listening).toBe(false);
    // Jittered between half and all of 10, 20, 40, 80, 80… ms.
    expect(waits[0]).toBeLessThanOrEqual(10);
    expect(Math.max(...waits)).toBeLessThanOrEqual(80);
    expect(waits.slice(3).every((w) => w >= 40)).toBe(true);
  });

  it('a server that never answers: the start is not delayed, and stop ends the attempt at once', async () => {
    const before = liveHandles().length;
    // Reads (so that it sees the listener hang up) but never answers.
    const url = await fakePostgres((socket) => socket.resume());
    const started = performance.now();
    listener = listen(url, { connectMs: 60_000 });
    expect(performance.now() - started).toBeLessThan(50);
    // The attempt is under way: a socket to the silent server.
    await waitFor(() => sockets.size === 1, 5000);
    const stopping = performance.now();
    await listener.stop();
    listener = undefined;
    expect(performance.now() - stopping).toBeLessThan(500);
    // Nothing of the listener is left to keep the process alive (the silent server's side of
    // the socket closes when the listener's does).
    await waitFor(() => liveHandles().length <= before, 2000);
  });

  it('stopped while waiting to try again: no attempt follows', async () => {
    let attempts = 0;
    const url = await fakePostgres((socket) => {
      attempts++;
      socket.destroy();
    });
    let downs = 0;
    listener = listen(url, { retryMs: 200, maxRetryMs: 200, onDown: () => downs++ });
    await waitFor(() => downs === 1, 5000);
    await listener.stop();
    listener = undefined;
    const seen = attempts;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(attempts).toBe(seen);
  });
});
