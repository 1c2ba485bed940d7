import * as z from 'zod/mini';
import type { Kind } from './kinds.js';

/**
 * A setting: its schema and what the docs' configuration table says of it
 * (scripts/config-table.mjs writes docs/configuration.md from these).
 */
export interface Setting<T> {
  readonly schema: Kind<T>;
  readonly doc: SettingDoc;
}

/** Who reads a variable, for the table: every command, `connectr serve`, or one command. */
export type Reader =
  | 'every command'
  | 'connectr serve'
  | 'serve keys'
  | 'serve logs'
  | 'connections push'
  | 'connectr mcp'
  | 'sign-in';

export interface SettingDoc {
  /** What it does, one sentence. */
  readonly meaning: string;
  /** The default in words, when there is one ("5000", "the XDG folders"). */
  readonly default?: string;
  readonly readBy: readonly Reader[];
}

export type Settings<D extends Record<string, Setting<unknown>>> = {
  readonly [K in keyof D]: D[K] extends Setting<infer T> ? T : never;
};

/** The zod/mini object schema of a group of settings: the environment in, the typed settings out. */
export function objectOf<D extends Record<string, Setting<unknown>>>(
  definitions: D,
): z.ZodMiniType<Settings<D>, Readonly<Record<string, string | undefined>>> {
  const shape: Record<string, Kind<unknown>> = {};
  for (const [name, setting] of Object.entries(definitions)) shape[name] = setting.schema;
  // Unknown variables (the whole environment) pass through unread: z.object drops them.
  return z.object(shape) as unknown as z.ZodMiniType<
    Settings<D>,
    Readonly<Record<string, string | undefined>>
  >;
}
