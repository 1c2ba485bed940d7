import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A hostile HTTP/1.1 client on a raw socket: it writes what the test says, when the test says
 * (a byte at a time if it likes), and records what the server answered and when it closed the
 * connection, so a test can bound how long the server lets such a client hold a socket.
 */
export interface SlowClient {
  readonly socket: Socket;
  /** Everything the server sent, as latin1 text. */
  received(): string;
  /** Resolves (with the time, from performance.now()) once the socket is closed, by either side. */
  readonly closed: Promise<number>;
  /** Whether the socket is closed already. */
  isClosed(): boolean;
  /** Writes `text` one byte every `everyMs`, until it is all written or the socket closes. */
  trickle(text: string, everyMs: number): void;
  /** Resolves with the time the answer's head arrived (its blank line), or rejects after `timeoutMs`. */
  answered(timeoutMs: number): Promise<number>;
  /** Stops trickling and destroys the socket. */
  destroy(): void;
}

export function slowClient(port: number, options: { host?: string; localAddress?: string } = {}): SlowClient {
  const socket = connect({
    port,
    host: options.host ?? '127.0.0.1',
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
  });
  // A refused or reset connection is an outcome the test reads, not a crash.
  socket.on('error', () => undefined);
  let text = '';
  let closedAt: number | undefined;
  const headWaiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    if (text.includes('\r\n\r\n')) for (const wake of headWaiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => {
    socket.once('close', () => {
      closedAt = performance.now();
      for (const wake of headWaiters.splice(0)) wake();
      resolve(closedAt);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    socket,
    received: () => text,
    closed,
    isClosed: () => closedAt !== undefined,
    trickle(data, everyMs) {
      let at = 0;
      const next = (): void => {
        if (closedAt !== undefined || at >= data.length || socket.destroyed) return;
        socket.write(data.slice(at, at + 1), () => undefined);
        at += 1;
        timer = setTimeout(next, everyMs);
      };
      next();
    },
    answered(timeoutMs) {
      return new Promise((resolve, reject) => {
        const give = setTimeout(() => {
          reject(
            new Error(`no answer within ${timeoutMs} ms; received: ${JSON.stringify(text.slice(0, 300))}`),
          );
        }, timeoutMs);
        const check = (): void => {
          if (text.includes('\r\n\r\n')) {
            clearTimeout(give);
            resolve(performance.now());
          } else if (closedAt !== undefined) {
            clearTimeout(give);
            reject(new Error(`closed without an answer; received: ${JSON.stringify(text.slice(0, 300))}`));
          } else headWaiters.push(check);
        };
        check();
      });
    },
    destroy() {
      clearTimeout(timer);
      socket.destroy();
    },
  };
}

/** The status and the headers (lower-cased names) of the first answer in `text`. */
export function answerHead(text: string): { status: number; headers: Record<string, string> } {
  const [head = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}
