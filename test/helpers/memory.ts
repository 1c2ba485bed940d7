import { readFileSync } from 'node:fs';
import type { RunningBin } from './bin.js';

/**
 * The highest resident set size (RSS) a child process reaches, sampled from /proc while it
 * runs (Linux), in bytes.
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
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // The process has exited.
    }
  }, everyMs);
  const result = await running.done;
  clearInterval(timer);
  return { peak, ...result };
}
