import { randomUUID } from 'node:crypto';
import type { ApiKeyIdentity } from '../contracts.js';
import type { CallTarget } from '../credentials/target.js';
import type { TtlCache } from './ttl-cache.js';

/**
 * What an instance tells the others when it changed something they may keep in their caches
 * (caches.ts): which cache, and which entry. One message shape for every cache, sent over one
 * channel (store/notify.ts: PostgreSQL's NOTIFY), so a new cache needs a line in FORGET, not a
 * mechanism of its own. A message carries ids only, never a secret: an API key by its id (its
 * entry is kept under the hash of the secret, which is not sent), a connection by project and id.
 *
 * Whoever may NOTIFY on the database may send anything on the channel: a message is checked
 * before it is believed, and at worst one makes this instance read the database again.
 */

export type CacheName = 'api_keys' | 'connections';

export interface Invalidation {
  readonly cache: CacheName;
  /** The entry: an API key's id, or `connectionKey(projectId, id)`. */
  readonly key: string;
}

/** What the messages act on: the caches kept of the database (caches.ts). */
export interface InvalidatedCaches {
  readonly apiKeys: TtlCache<ApiKeyIdentity>;
  readonly connections: TtlCache<CallTarget>;
}

/** How each cache forgets the entry a message names. */
const FORGET: Readonly<Record<CacheName, (caches: InvalidatedCaches, key: string) => void>> = {
  api_keys: (caches, key) => {
    caches.apiKeys.forgetWhere((identity) => identity.keyId === key);
  },
  connections: (caches, key) => {
    caches.connections.forget(key);
  },
};

/** The key of a connection in the connections cache and in messages. */
export const connectionKey = (projectId: string, id: string): string => `${projectId}\n${id}`;

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; ours stay far below. */
export const MAX_PAYLOAD_BYTES = 7999;
/** Ids are short; a longer key is not one of ours. */
const MAX_KEY_LENGTH = 256;
const VERSION = 1;

/** Why a message from the channel was not believed (logged once each, counted always). */
export type RefusedReason = 'oversized' | 'malformed' | 'unknown_cache' | 'newer_version';

export type Decoded =
  | { readonly ok: true; readonly from: string; readonly change: Invalidation }
  | { readonly ok: false; readonly reason: RefusedReason };

export function encodeInvalidation(change: Invalidation, from: string): string {
  if (change.key.length > MAX_KEY_LENGTH)
    throw new Error(`an invalidation key longer than ${MAX_KEY_LENGTH}`);
  return JSON.stringify({ v: VERSION, from, cache: change.cache, key: change.key });
}

export function decodeInvalidation(payload: string): Decoded {
  // Measured in UTF-16 units first: cheap, and never below the byte length's half.
  if (payload.length > MAX_PAYLOAD_BYTES || Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
    return { ok: false, reason: 'oversized' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, reason: 'malformed' };
  const { v, from, cache, key } = parsed as Record<string, unknown>;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) return { ok: false, reason: 'malformed' };
  // A newer instance's message may mean what this one cannot read.
  if (v > VERSION) return { ok: false, reason: 'newer_version' };
  if (typeof from !== 'string' || from.length > MAX_KEY_LENGTH) return { ok: false, reason: 'malformed' };
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH)
    return { ok: false, reason: 'malformed' };
  if (typeof cache !== 'string' || !Object.hasOwn(FORGET, cache))
    return { ok: false, reason: 'unknown_cache' };
  return { ok: true, from, change: { cache: cache as CacheName, key } };
}

/** Counted for /metrics (metrics.ts). */
export interface NoticeCounts {
  /** Messages this instance sent. */
  sent: number;
  /** Messages of other instances acted on. */
  received: number;
  /** Messages from the channel not believed. */
  refused: number;
  /** Times the listening connection was made again after it was lost. */
  reconnects: number;
}

/** Sends one encoded message to the other instances; rejects when it could not. */
export type SendNotice = (payload: string) => Promise<void>;

/**
 * This instance's side of the messages: its own changes forgotten here and sent to the others
 * (when there are others to tell: `send` is set on PostgreSQL only), and theirs received.
 */
export class CacheNotices {
  /** Tells this instance's messages apart from the others' (it has acted on its own already). */
  readonly origin = randomUUID();
  readonly counts: NoticeCounts = { sent: 0, received: 0, refused: 0, reconnects: 0 };
  private readonly refusedOnce = new Set<RefusedReason>();
  private send: SendNotice | undefined;
  /** Told of the first message refused for each reason (the message itself is not repeated). */
  onRefused: ((reason: RefusedReason) => void) | undefined;

  constructor(private readonly caches: InvalidatedCaches) {}

  /** Where changes are sent (set once the database is open; never on PGlite, which has one process). */
  sendWith(send: SendNotice): void {
    this.send = send;
  }

  /**
   * A change this instance committed: its entry is forgotten here at once, then the others are
   * told. Never rejects: a message that could not be sent leaves the others on their cache time.
   */
  async changed(change: Invalidation): Promise<void> {
    FORGET[change.cache](this.caches, change.key);
    if (this.send === undefined) return;
    try {
      await this.send(encodeInvalidation(change, this.origin));
      this.counts.sent++;
    } catch {
      // The fallback: the others' entries expire with CONNECTR_CACHE_MS.
    }
  }

  /** A payload from the channel. */
  received(payload: string): void {
    const decoded = decodeInvalidation(payload);
    if (!decoded.ok) {
      this.counts.refused++;
      if (!this.refusedOnce.has(decoded.reason)) {
        this.refusedOnce.add(decoded.reason);
        this.onRefused?.(decoded.reason);
      }
      return;
    }
    if (decoded.from === this.origin) return;
    this.counts.received++;
    FORGET[decoded.change.cache](this.caches, decoded.change.key);
  }

  /** Everything forgotten: messages may have been missed (the listening connection was down). */
  forgetAll(): void {
    this.caches.apiKeys.forgetWhere(() => true);
    this.caches.connections.forgetWhere(() => true);
  }
}
