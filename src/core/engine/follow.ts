import { lookup } from 'node:dns/promises';
import { connectorOrigins } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { ipLiteral, isLocalhostName, isPublicAddress } from '../http/address.js';
import { plainHttpProblem } from '../http/plain-http.js';
import type { Env } from '../paths.js';

/**
 * Where connectr goes on an API's word: a redirect (3xx Location), a next-page link (a
 * next_link in the body, a Link header, an MCP cursor holding one) or an upload URL (Graph's
 * uploadUrl, Google's resumable session Location, Slack's upload_url), which receives the
 * caller's bytes. Whoever can make an API say such a URL (an open redirect, a link built from
 * the caller's input, a compromised upstream) could otherwise have the daemon send to an
 * internal address and hand the answer back. So a follow goes only:
 *
 * - to the origin (scheme, host and port) of one of the connector's hosts, the rule the raw
 *   proxy and the credential keep to (connector/model.ts hostOrigin), or, for a redirect or an
 *   upload URL (never a page link), to an origin the connector declares in `redirect_hosts`
 *   (sent without the credential);
 * - to a public address: a literal IP is judged as written, a name by every address it resolves
 *   to when the connection is made (http/address.ts publicLookup, so a name that resolves to a
 *   public address here and a private one there gains nothing). Not when the connector is
 *   itself local, one of its hosts being a loopback or private address, `localhost`, or a name
 *   that resolves to one: tests and local APIs follow within their own origins as before.
 *
 * A refusal is a `follow_refused` error naming the refused host; nothing is sent to it.
 */

export type FollowKind = 'redirect' | 'page link' | 'upload URL';

const WHAT: Record<FollowKind, string> = {
  redirect: 'a redirect',
  'page link': 'a next-page link',
  'upload URL': 'an upload URL',
};

const FOLLOWS: Record<FollowKind, string> = {
  redirect: 'follows redirects',
  'page link': 'follows page links',
  'upload URL': 'sends uploads',
};

/** Whether `redirect_hosts` may hold a follow of this kind: a page link stays on the API's hosts. */
const toRedirectHosts = (kind: FollowKind): boolean => kind !== 'page link';

export interface FollowPolicy {
  /**
   * Throws follow_refused when `target` may not be followed; else whether the connection must
   * reach a public address (the HTTP client checks the address it connects to).
   */
  check(target: URL, kind: FollowKind): Promise<{ readonly publicOnly: boolean }>;
}

/** Every address a name resolves to; injected by tests. */
export type Resolve = (hostname: string) => Promise<readonly string[]>;

const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export function followPolicy(connector: Connector, env: Env, resolve: Resolve = systemResolve): FollowPolicy {
  let local: Promise<boolean> | undefined;
  return {
    async check(target, kind) {
      const origins = connectorOrigins(connector, env);
      const declared = origins.has(target.origin) && target.username === '' && target.password === '';
      if (
        !declared &&
        !(toRedirectHosts(kind) && matchesRedirectHost(target, redirectHosts(connector, env)))
      ) {
        throw new ConnectrError(
          'follow_refused',
          `refused to follow ${WHAT[kind]} of ${connector.displayName} to ${describe(target)}: not one of the connector's hosts`,
          {
            hint: `connectr ${FOLLOWS[kind]} only to ${[...origins].join(', ')}${toRedirectHosts(kind) ? " and the connector's redirect_hosts" : ''}; the API (or what it was given) pointed elsewhere`,
          },
        );
      }
      local ??= isLocalConnector(connector, env, resolve);
      if (await local) return { publicOnly: false };
      const literal = ipLiteral(target.hostname);
      if ((literal !== undefined && !isPublicAddress(literal)) || isLocalhostName(target.hostname))
        throw refusedAddress(connector, kind, target, literal ?? target.hostname);
      return { publicOnly: literal === undefined };
    },
  };
}

/** The follow_refused error for a target that is (or resolved to) a non-public address. */
export function refusedAddress(
  connector: Connector,
  kind: FollowKind,
  target: URL,
  address: string,
): ConnectrError {
  return new ConnectrError(
    'follow_refused',
    `refused to follow ${WHAT[kind]} of ${connector.displayName} to ${describe(target)}: ${address === target.hostname ? 'it is' : `it resolves to ${address},`} a loopback, private or link-local address`,
    {
      hint: "connectr does not follow an API's redirects, links and upload URLs to internal addresses unless the connector's own host is one",
    },
  );
}

/** `host:port` of a URL, shortened: the host is the API's text. */
function describe(target: URL): string {
  const host = target.host;
  return host.length > 200 ? `${host.slice(0, 200)}…` : host;
}

/** The connector's redirect_hosts, or the list in its environment variable. */
function redirectHosts(connector: Connector, env: Env): readonly string[] {
  const variable = env[connector.redirectHosts.env];
  if (!variable) return connector.redirectHosts.origins;
  const list = variable
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of list) {
    const problem = /^https?:\/\/(\*\.)?[^/*]+$/i.test(entry)
      ? plainHttpProblem(entry.replace('*.', 'x.'))
      : 'not an origin';
    if (problem)
      throw new ConnectrError('invalid_input', `${connector.redirectHosts.env}: "${entry}": ${problem}`, {
        hint: `list origins such as https://files.example.com or https://*.example.com, separated by commas, or unset ${connector.redirectHosts.env}`,
      });
  }
  return list;
}

/** Whether `target` is at one of the origins, where `*.` stands for one or more leading labels. */
export function matchesRedirectHost(target: URL, patterns: readonly string[]): boolean {
  if (target.username !== '' || target.password !== '') return false;
  for (const pattern of patterns) {
    const wild = /^(https?:\/\/)\*\.(.+)$/i.exec(pattern);
    if (!wild) {
      if (safeOrigin(pattern) === target.origin) return true;
      continue;
    }
    // The suffix as an origin (its default port dropped), then the target's host must end with it.
    const suffix = safeOrigin(`${wild[1] ?? ''}${wild[2] ?? ''}`);
    if (suffix === undefined) continue;
    const rest = new URL(suffix);
    if (
      target.protocol === rest.protocol &&
      target.port === rest.port &&
      target.hostname.endsWith(`.${rest.hostname}`)
    )
      return true;
  }
  return false;
}

function safeOrigin(value: string): string | undefined {
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/** Whether one of the connector's hosts is on this machine or its network (see above). */
async function isLocalConnector(connector: Connector, env: Env, resolve: Resolve): Promise<boolean> {
  const hostnames = [...connectorOrigins(connector, env)].map((origin) => new URL(origin).hostname);
  const names: string[] = [];
  for (const hostname of hostnames) {
    const literal = ipLiteral(hostname);
    if (literal !== undefined) {
      if (!isPublicAddress(literal)) return true;
    } else if (isLocalhostName(hostname)) return true;
    else names.push(hostname);
  }
  for (const name of names) {
    try {
      if ((await resolve(name)).some((address) => !isPublicAddress(address))) return true;
    } catch {
      // A host that does not resolve is not local; its own request fails on its own.
    }
  }
  return false;
}
