/** openConnect with a window of the test's own: which messages it believes, and when it says closed. */
import { describe, expect, it, vi } from 'vitest';
import { openConnect } from '../src/index.js';
import type { ConnectEvent, ConnectMessage, ConnectPopup, ConnectWindow } from '../src/index.js';

const URL_ = 'https://connectr.example.com/connect#cnct_token';

function fakeWindow(blocked = false) {
  const listeners = new Set<(event: ConnectMessage) => void>();
  const popup: ConnectPopup & { closed: boolean; opened?: string } = {
    closed: false,
    close() {
      this.closed = true;
    },
  };
  const win: ConnectWindow = {
    open(url) {
      popup.opened = url;
      return blocked ? null : popup;
    },
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
  };
  const post = (origin: string, data: unknown, source: unknown = popup): void => {
    for (const listener of [...listeners]) listener({ origin, data, source });
  };
  return { win, popup, post, listeners };
}

describe('openConnect', () => {
  it('believes only the daemon’s origin and its own popup, and tells the outcome once', () => {
    const { win, popup, post, listeners } = fakeWindow();
    const events: ConnectEvent[] = [];
    openConnect({ url: URL_, window: win, onEvent: (e) => events.push(e) });
    expect(popup.opened).toBe(URL_);
    post('https://evil.example.com', { type: 'connectr:connected', connection_id: 'conn_evil' });
    post('https://connectr.example.com', { type: 'connectr:connected', connection_id: 'conn_other' }, {});
    post('https://connectr.example.com', 'connectr:connected');
    post('https://connectr.example.com', { type: 'connectr:connected', connection_id: 42 });
    expect(events).toEqual([]);
    post('https://connectr.example.com', { type: 'connectr:connected', connection_id: 'conn_1' });
    post('https://connectr.example.com', { type: 'connectr:error', error: 'later' });
    expect(events).toEqual([{ type: 'connected', connectionId: 'conn_1' }]);
    expect(listeners.size).toBe(0);
  });

  it('errors pass their code; a popup the user closed is `closed`', () => {
    vi.useFakeTimers();
    try {
      const first = fakeWindow();
      const errors: ConnectEvent[] = [];
      openConnect({ url: URL_, window: first.win, onEvent: (e) => errors.push(e) });
      first.post('https://connectr.example.com', { type: 'connectr:error', error: 'cancelled' });
      expect(errors).toEqual([{ type: 'error', error: 'cancelled' }]);

      const second = fakeWindow();
      const closed: ConnectEvent[] = [];
      openConnect({ url: URL_, window: second.win, onEvent: (e) => closed.push(e) });
      second.popup.closed = true;
      vi.advanceTimersByTime(2000);
      expect(closed).toEqual([{ type: 'closed' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('close() closes the popup; a blocked popup or no window is an Error', () => {
    const { win, popup } = fakeWindow();
    const events: ConnectEvent[] = [];
    openConnect({ url: URL_, window: win, onEvent: (e) => events.push(e) }).close();
    expect(popup.closed).toBe(true);
    expect(events).toEqual([{ type: 'closed' }]);
    expect(() => openConnect({ url: URL_, window: fakeWindow(true).win, onEvent: () => undefined })).toThrow(
      /blocked/,
    );
    expect(() => openConnect({ url: URL_, onEvent: () => undefined })).toThrow(/browser/);
  });
});
