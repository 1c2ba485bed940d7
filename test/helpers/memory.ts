import { readFileSync } from 'node:fs';
import type { RunningBin } from './bin.js';

/**
 * The highest resident set size (RSS) a child process reaches, in bytes (Linux). Read from the
 * kernel's own high-water mark (VmHWM in /proc/<pid>/status), so a spike between two samples
 * is not missed; sampled until the process exits.
 */
export async function peakRss(
  running: RunningBin,
  everyMs = 10,
): Promise<{ peak: number; code: number | null; stderr: string; stdout: string }> {
  let peak = 0;
  const pid = running.child.pid;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // The process has exited.
    }
  }, everyMs);
  const result = await running.done;
  clearInterval(timer);
  return { peak, ...result };
}
