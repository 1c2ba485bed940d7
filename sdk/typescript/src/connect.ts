/**
 * `openConnect`: the Connect page of `connectr serve` in a popup, for browser apps
 * (docs/connect.md). The page posts its outcome to the window that opened it, on the
 * project's allowed origins only; this listens for messages from the daemon's origin and from
 * that popup only, so no other window or frame can forge a connection.
 *
 * Written against the few browser shapes it uses (the SDK compiles without the DOM library).
 */

export type ConnectEvent =
  | { readonly type: 'connected'; readonly connectionId: string }
  | { readonly type: 'error'; readonly error: string }
  | { readonly type: 'closed' };

/** The browser's window, as far as openConnect uses it. */
export interface ConnectWindow {
  open(url: string, target: string, features: string): ConnectPopup | null;
  addEventListener(type: 'message', listener: (event: ConnectMessage) => void): void;
  removeEventListener(type: 'message', listener: (event: ConnectMessage) => void): void;
}

export interface ConnectPopup {
  readonly closed: boolean;
  close(): void;
}

export interface ConnectMessage {
  readonly origin: string;
  readonly data: unknown;
  readonly source: unknown;
}

export interface OpenConnectOptions {
  /** `connect_url` of a Connect session, as createConnectSession gave it. */
  readonly url: string;
  /** Told once: connected (with the connection's id), an error (a stable code, e.g. `cancelled`), or closed. */
  readonly onEvent: (event: ConnectEvent) => void;
  /** The popup's size in CSS pixels (default 480 × 720). */
  readonly width?: number;
  readonly height?: number;
  /** The window to open from (default the global `window`). */
  readonly window?: ConnectWindow;
}

export interface ConnectHandle {
  /** Closes the popup (the event is then `closed`, unless the outcome came first). */
  close(): void;
}

/** How often the popup is checked for having been closed by the user. */
const CLOSED_POLL_MS = 400;
/** A message sent just before the popup closed itself may arrive after it looks closed. */
const CLOSED_GRACE_MS = 500;

/**
 * Opens the Connect page in a popup. Call it from a click handler: browsers block popups that a
 * user's gesture did not open (an Error then says so).
 */
export function openConnect(options: OpenConnectOptions): ConnectHandle {
  const win = options.window ?? (globalThis as { window?: ConnectWindow }).window;
  if (!win) throw new Error('openConnect runs in a browser: there is no window here');
  const origin = new URL(options.url).origin;
  const features = `popup,width=${options.width ?? 480},height=${options.height ?? 720}`;
  const popup = win.open(options.url, 'connectr-connect', features);
  if (!popup) throw new Error('the browser blocked the Connect popup: call openConnect from a click handler');
  let done = false;
  let grace: ReturnType<typeof setTimeout> | undefined;
  const finish = (event: ConnectEvent): void => {
    if (done) return;
    done = true;
    win.removeEventListener('message', listener);
    clearInterval(poll);
    if (grace !== undefined) clearTimeout(grace);
    options.onEvent(event);
  };
  const listener = (event: ConnectMessage): void => {
    if (event.origin !== origin || event.source !== popup) return;
    const data = event.data;
    if (typeof data !== 'object' || data === null) return;
    const message = data as Record<string, unknown>;
    if (message.type === 'connectr:connected' && typeof message.connection_id === 'string')
      finish({ type: 'connected', connectionId: message.connection_id });
    else if (message.type === 'connectr:error' && typeof message.error === 'string')
      finish({ type: 'error', error: message.error });
  };
  win.addEventListener('message', listener);
  const poll = setInterval(() => {
    if (popup.closed && grace === undefined)
      grace = setTimeout(() => {
        finish({ type: 'closed' });
      }, CLOSED_GRACE_MS);
  }, CLOSED_POLL_MS);
  return {
    close() {
      if (!popup.closed) popup.close();
      finish({ type: 'closed' });
    },
  };
}
