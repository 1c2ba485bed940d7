import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * The requests a transport has received and not yet answered. `printf '...' | connectr mcp`
 * ends its input right after the requests: closing the server then (as the SDK does when its
 * transport closes) would cancel them all and answer nothing. This lets the stdio front-end
 * wait for them, and answer with an error those it gives up on, so every request received
 * gets exactly one answer.
 *
 * Installed after `server.connect(transport)`, which sets the transport's onmessage.
 */
export interface InFlight {
  /** How many requests are waiting for their answer. */
  readonly size: number;
  /** Resolves when none is waiting (at once if none is). */
  idle(): Promise<void>;
  /**
   * Answers every request still waiting with this JSON-RPC error; their answers, should they
   * come later, are dropped.
   */
  abandon(code: number, message: string): Promise<void>;
}

export function trackInFlight(transport: Transport): InFlight {
  const waiting = new Set<RequestId>();
  const abandoned = new Set<RequestId>();
  let wake: (() => void) | undefined;
  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isRequest(message)) waiting.add(message.id);
    // A request the client cancelled gets no answer (MCP's cancellation): none is due.
    const cancelled = cancelledId(message);
    if (cancelled !== undefined && waiting.delete(cancelled) && waiting.size === 0) wake?.();
    receive?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    const answered = isAnswer(message) ? message.id : undefined;
    if (answered !== undefined && abandoned.has(answered)) return;
    await send(message, options);
    if (answered !== undefined && waiting.delete(answered) && waiting.size === 0) wake?.();
  };
  return {
    get size() {
      return waiting.size;
    },
    idle() {
      if (waiting.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        wake = resolve;
      });
    },
    async abandon(code, message) {
      const ids = [...waiting];
      waiting.clear();
      for (const id of ids) {
        abandoned.add(id);
        await send({ jsonrpc: '2.0', id, error: { code, message } });
      }
      wake?.();
    },
  };
}

function isRequest(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in message && 'id' in message;
}

function cancelledId(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled') return undefined;
  const id: unknown = message.params?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

function isAnswer(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return ('result' in message || 'error' in message) && 'id' in message;
}
