import type { Connector } from '../../core/connector/model.js';
import { SECRET_QUERY } from '../plugins/logging.js';

/**
 * The path a raw-proxy call is logged under: `/` + the path as the caller wrote it, and the
 * query with the value of every parameter that may hold a secret replaced by `[REDACTED]`:
 * the names the access log redacts (token, access_token, api_key, key, code, state…), the
 * connector's API-key parameter when its key goes in the query, and every query param an
 * endpoint of the connector marks `secret: true`. Bounded, so a huge URL is not stored whole.
 */

/** Longest path stored; longer ones are cut and end with "…". */
export const MAX_LOGGED_PATH = 2048;

const secretNames = new WeakMap<Connector, ReadonlySet<string>>();

/** The query names of `connector` whose values are secret, lower case; computed once per definition. */
export function secretQueryNames(connector: Connector): ReadonlySet<string> {
  let names = secretNames.get(connector);
  if (names) return names;
  const found = new Set<string>();
  const { auth } = connector;
  if (auth.type === 'api_key' && auth.in === 'query') found.add(auth.name.toLowerCase());
  for (const endpoint of connector.endpoints)
    for (const param of endpoint.params)
      if (param.secret && param.in === 'query') found.add(param.wireName.toLowerCase());
  names = found;
  secretNames.set(connector, names);
  return names;
}

export function proxyPathOf(connector: Connector, path: string, query: string): string {
  let logged = `/${path}`;
  if (query !== '') {
    const secret = secretQueryNames(connector);
    // Some servers split a query on ";" as on "&": each piece is judged on its own.
    const pieces = query.split(/([&;])/).map((piece) => {
      if (piece === '&' || piece === ';') return piece;
      const eq = piece.indexOf('=');
      if (eq < 0) return piece;
      const name = piece.slice(0, eq);
      return readings(name).some((n) => SECRET_QUERY.has(n) || secret.has(n)) ? `${name}=[REDACTED]` : piece;
    });
    logged += `?${pieces.join('')}`;
  }
  return logged.length > MAX_LOGGED_PATH ? `${logged.slice(0, MAX_LOGGED_PATH - 1)}…` : logged;
}

/**
 * The names a server may read a query name as, lower case: as written and percent-decoded
 * ("+" a space), up to a "[" (`token[]`, as PHP and Rails read it), and with " ", "." and "["
 * as "_" (`access.token`), as core/proxy/rules.ts reads the API-key parameter.
 */
function readings(written: string): string[] {
  let decoded = written;
  try {
    decoded = decodeURIComponent(written.replaceAll('+', ' '));
  } catch {
    // a malformed escape: judged as written
  }
  const found = new Set<string>();
  for (const text of [written, decoded]) {
    const lower = text.trim().toLowerCase();
    const open = lower.indexOf('[');
    const bare = open > 0 ? lower.slice(0, open) : lower;
    found.add(lower).add(bare).add(bare.replace(/[ .[]/g, '_'));
  }
  return [...found];
}
