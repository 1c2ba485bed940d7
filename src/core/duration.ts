import { ConnectrError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90" (seconds), "90s", "5m", "1h", "500ms" -> milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) {
    throw new ConnectrError('invalid_input', `${flag} "${text}" is not a duration`, {
      hint: 'write it like 90s, 5m or 1h (a bare number is seconds)',
    });
  }
  const value = Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000);
  if (value <= 0) throw new ConnectrError('invalid_input', `${flag} must be longer than zero`);
  return Math.round(value);
}

/** 300000 -> "5 min", 90000 -> "90 s", 1500 -> "1500 ms". */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
