/**
 * When this instance last wrote each connection's last_used_at (health/usage.ts), so that a
 * busy connection costs one write per LAST_USED_EVERY_MS, not one per call.
 */

export const LAST_USED_EVERY_MS = 5 * 60_000;
/** Past this many remembered connections, those written longer ago than the period are dropped. */
const MAX_REMEMBERED = 10_000;

/** When this instance last wrote each connection's last_used_at (by project and id). */
export class UsageMarks {
  private readonly written = new Map<string, number>();

  /** Whether a use at `now` is to be written, remembering it when so. */
  due(key: string, now: number): boolean {
    const last = this.written.get(key);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return false;
    if (this.written.size >= MAX_REMEMBERED) this.prune(now);
    this.written.set(key, now);
    return true;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  private prune(now: number): void {
    for (const [key, at] of this.written) if (now - at >= LAST_USED_EVERY_MS) this.written.delete(key);
  }
}
