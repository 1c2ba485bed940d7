import { basename } from 'node:path';
import { ConnectrError } from '../errors.js';

/**
 * Connector versions: a whole number from 1 that a definition declares (`version:`, default 1),
 * that connections and accounts pin, and that a file name may carry (`gmail@1.yaml`) so several
 * versions of one connector sit side by side in a directory. A number, not a date or semver:
 * versions are only ever compared for "newest" and "the same", and a diff of two files shows it.
 */

export const DEFAULT_VERSION = 1;

/**
 * The version a definition declares. Files older than pinning may hold a string: digits count
 * as their number; anything else (older `connectors import openapi` copied the API's own
 * version, e.g. "1.0.3") counts as 1, so those files keep loading as they did.
 */
export function definitionVersion(declared: number | string | undefined): number {
  if (typeof declared === 'number') return declared;
  if (declared !== undefined && /^[1-9][0-9]{0,8}$/.test(declared.trim())) return Number(declared.trim());
  return DEFAULT_VERSION;
}

/** The largest version accepted in a name typed or given (`gmail@N`, a file name, the API). */
export const MAX_VERSION = 2_147_483_647;

/**
 * The version a file name carries (`gmail@2.yaml` -> 2); none when it has no `@`. A suffix that
 * is not a version is a string naming the problem, reported against the file.
 */
export function fileNameVersion(file: string): number | undefined | { readonly problem: string } {
  const stem = basename(file).replace(/\.ya?ml$/i, '');
  const at = stem.lastIndexOf('@');
  if (at < 0) return undefined;
  const suffix = stem.slice(at + 1);
  const version = wholeVersion(suffix);
  return (
    version ?? {
      problem: `the file name's "@${suffix}" is not a version: name the file <name>@<N>.yaml with N a whole number from 1, or drop the "@"`,
    }
  );
}

/** `text` as a version when it is a whole number from 1 (no sign, no leading zero). */
export function wholeVersion(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const version = Number(text);
  return version <= MAX_VERSION ? version : undefined;
}

/** A connector named on the command line: `gmail` (the newest version) or `gmail@2`. */
export interface ConnectorRef {
  readonly name: string;
  readonly version?: number;
}

export function parseConnectorRef(text: string): ConnectorRef {
  const at = text.indexOf('@');
  if (at < 0) return { name: text };
  const name = text.slice(0, at);
  const suffix = text.slice(at + 1);
  const version = wholeVersion(suffix);
  if (name === '' || version === undefined) {
    throw new ConnectrError('usage', `"${text}" is not a connector name or <name>@<version>`, {
      hint: 'write e.g. gmail (the newest version) or gmail@1; `connectr connectors show <name>` lists its versions',
    });
  }
  return { name, version };
}

export function formatRef(name: string, version: number): string {
  return `${name}@${version}`;
}
