/**
 * The raw proxy's answer headers that hold URLs (`Link`, `Location`, `Content-Location`), as a
 * reverse proxy rewrites them (nginx's proxy_redirect): a URL on the host the request went to,
 * under its base path, becomes the same place through the proxy, so a client following the
 * next page or a redirect stays on connectr (and its credential stays on the server). A URL
 * elsewhere is left alone; a relative one is made absolute on the upstream host, since the
 * caller would resolve it against the proxy's URL instead.
 */

/** Where links are mapped from and to, for one proxied request. */
export interface LinkMap {
  /** The host's base URL (the definition's, or its environment override). */
  readonly upstreamBase: URL;
  /** The upstream URL the request went to: relative references resolve against it. */
  readonly requestUrl: URL;
  /**
   * The proxy's URL for this connection, without a trailing slash:
   * `https://connectr.example.com/api/v1/connections/conn_x/proxy` (or only its path when the
   * server does not know its own address).
   */
  readonly proxyBase: string;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/** One URI reference mapped: through the proxy when it is on the proxied host, else as it was. */
export function rewriteUrl(reference: string, map: LinkMap): string {
  let url: URL;
  try {
    url = new URL(reference, map.requestUrl);
  } catch {
    return reference;
  }
  const basePath = map.upstreamBase.pathname.replace(/\/+$/, '');
  const inside =
    url.origin === map.upstreamBase.origin &&
    url.username === '' &&
    url.password === '' &&
    (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`));
  if (inside) return `${map.proxyBase}${url.pathname.slice(basePath.length) || '/'}${url.search}${url.hash}`;
  return ABSOLUTE.test(reference) ? reference : url.href;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/**
 * An RFC 8288 `Link` value with each target mapped by rewriteUrl: several links, parameters,
 * quoted strings holding commas or semicolons. Anything that does not parse is returned as it
 * is: a header the proxy does not understand passes unchanged.
 */
export function rewriteLinkHeader(value: string, map: LinkMap): string {
  const targets = linkTargets(value);
  if (!targets) return value;
  let out = '';
  let at = 0;
  for (const [start, end] of targets) {
    out += value.slice(at, start) + rewriteUrl(value.slice(start, end), map);
    at = end;
  }
  return out + value.slice(at);
}

/** Where each `<URI-Reference>` of a Link value is (start and end of its text), or undefined if malformed. */
function linkTargets(value: string): [number, number][] | undefined {
  const targets: [number, number][] = [];
  let i = 0;
  const space = (): void => {
    while (value[i] === ' ' || value[i] === '\t') i++;
  };
  const token = (): boolean => {
    TOKEN.lastIndex = i;
    if (!TOKEN.test(value)) return false;
    i = TOKEN.lastIndex;
    return true;
  };
  for (;;) {
    space();
    if (i >= value.length) return targets;
    // Empty list elements are allowed (RFC 9110 §5.6.1).
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') return undefined;
    const close = value.indexOf('>', i + 1);
    if (close === -1) return undefined;
    targets.push([i + 1, close]);
    i = close + 1;
    // link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
    for (;;) {
      space();
      if (value[i] !== ';') break;
      i++;
      space();
      if (!token()) return undefined;
      space();
      if (value[i] !== '=') continue;
      i++;
      space();
      if (value[i] === '"') {
        i++;
        while (i < value.length && value[i] !== '"') i += value[i] === '\\' ? 2 : 1;
        if (i >= value.length) return undefined;
        i++;
      } else if (!token()) return undefined;
    }
    space();
    if (i >= value.length) return targets;
    if (value[i] !== ',') return undefined;
    i++;
  }
}

/** The answer headers rewriteResponseLinks maps. */
const LINK_HEADERS = ['link', 'location', 'content-location'] as const;

/** Whether the answer has a header rewriteResponseLinks maps (most have none). */
export function hasLinks(headers: Record<string, string | string[]>): boolean {
  return LINK_HEADERS.some((name) => headers[name] !== undefined);
}

/** The answer's headers with their URLs mapped (lower-case names, as returnedResponseHeaders gives them). */
export function rewriteResponseLinks(
  headers: Record<string, string | string[]>,
  map: LinkMap,
): Record<string, string | string[]> {
  const out = { ...headers };
  const link = out.link;
  if (link !== undefined)
    out.link = Array.isArray(link)
      ? link.map((v) => rewriteLinkHeader(v, map))
      : rewriteLinkHeader(link, map);
  for (const name of ['location', 'content-location']) {
    const value = out[name];
    if (typeof value === 'string') out[name] = rewriteUrl(value.trim(), map);
  }
  return out;
}
