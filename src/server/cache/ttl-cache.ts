/**
 * What a server instance read from the database, kept for a short while: the identity behind
 * an API key and a connection with its credential are read on every request, and reading them
 * each time cost far more than the rest of a proxied request. Another instance's change (a key
 * revoked, a connection deleted, a token refreshed) is seen once the entry is older than
 * `ttlMs`; this instance's own changes `forget` the entry at once.
 *
 * Only found values are kept (a miss is asked again: a connection created on another instance
 * is usable at once). Callers asking for the same key while it is being read share that read.
 * A read that was under way when an entry was forgotten is used by its callers but not kept,
 * so a write cannot be overtaken by an older read finishing after it.
 */

export interface TtlCacheOptions {
  /** How long an entry is trusted; 0 reads every time. */
  readonly ttlMs: number;
  /** The most entries kept; the oldest go first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly at: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly reading = new Map<string, Promise<V | undefined>>();
  /** Bumped by every forget: a read begun before it is not kept. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: TtlCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The value kept for `key`, or what `read` finds (kept when found). A failed read is not kept. */
  get<R extends V | undefined>(key: string, read: () => Promise<R>): Promise<V | R> {
    if (this.options.ttlMs <= 0) return read();
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      if (this.now() - entry.at < this.options.ttlMs) return Promise.resolve(entry.value);
      this.entries.delete(key);
    }
    const pending = this.reading.get(key) as Promise<V | R> | undefined;
    if (pending !== undefined) return pending;
    const generation = this.generation;
    const started = this.now();
    const promise = read().then(
      (value) => {
        if (this.reading.get(key) === promise) this.reading.delete(key);
        if (value !== undefined && generation === this.generation) this.keep(key, value, started);
        return value;
      },
      (error: unknown) => {
        if (this.reading.get(key) === promise) this.reading.delete(key);
        throw error;
      },
    );
    this.reading.set(key, promise);
    return promise;
  }

  /** Drops what is kept for `key` (after this instance changed it); reads under way are not kept. */
  forget(key: string): void {
    this.generation++;
    this.entries.delete(key);
    this.reading.delete(key);
  }

  /**
   * Drops every kept value `matches` (when the key is not known: an API key revoked by id is
   * cached under the hash of its secret); reads under way are not kept.
   */
  forgetWhere(matches: (value: V) => boolean): void {
    this.generation++;
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
    this.reading.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private keep(key: string, value: V, at: number): void {
    // Its age counts from when the read began: what it says was true then.
    this.entries.set(key, { value, at });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
