/**
 * How long the process waits, after Ctrl-C or SIGTERM, for the running command to stop on its
 * own before bin.ts ends it (a second signal ends it at once). Two seconds suit a CLI command;
 * a command that must finish work in flight (`connectr serve` draining requests) raises it.
 */
let graceMs = 2000;

export function shutdownGraceMs(): number {
  return graceMs;
}

/** Never lowers the grace period: only the command that needs longer asks. */
export function allowShutdownGrace(ms: number): void {
  graceMs = Math.max(graceMs, ms);
}
