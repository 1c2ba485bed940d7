import type { Connector, Host } from '../connector/model.js';
import { effectiveHostUrl } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { FieldError } from '../field-error.js';
import type { Env } from '../paths.js';
import { HOST_HEADER } from './headers.js';

/**
 * Where a raw request may go, for both front-ends of the raw proxy (`connectr api` and the
 * daemon's `/api/v1/connections/{id}/proxy/{path}`): which of the connector's hosts, the path
 * below its base URL (never outside it, however the path is encoded), the query. A refusal is
 * a FieldError naming the daemon's request field; the CLI shows its message and hint.
 */

/** How a front-end names the host choice in a refusal: the daemon's header, the CLI's --host. */
export interface HostField {
  readonly field: string;
  readonly code?: 'invalid_input' | 'usage';
}

/**
 * The host a request goes to: the one named (a key of the connector's `hosts`: the daemon's
 * `x-connectr-host`, the CLI's --host), else the connector's first (default) host. Never a URL
 * the caller gives.
 */
export function chooseHost(
  connector: Connector,
  requested: string | undefined,
  named: HostField = { field: `headers.${HOST_HEADER}` },
): Host {
  const keys = connector.hosts.map((h) => h.key);
  if (requested === undefined || requested === '') {
    const first = connector.hosts[0];
    if (first) return first;
    throw new ConnectrError('invalid_connector', `${connector.name} declares no host`);
  }
  const host = connector.hosts.find((h) => h.key === requested);
  if (host) return host;
  throw new FieldError(
    named.field,
    `${connector.name} has no host ${JSON.stringify(requested.slice(0, 100))}`,
    {
      hint: `name one of its hosts: ${keys.join(', ')} (without one: ${keys[0] ?? 'none'})`,
      ...(named.code ? { code: named.code } : {}),
    },
  );
}

const PATH_FIELD = 'params.path';

const PERCENT_RUN = /(?:%[0-9a-f]{2})+/gi;

/**
 * Bytes as the loosest UTF-8 decoder would read them: well-formed sequences as their character,
 * overlong ones too (`%C0%AE` is "." to the decoders that once let it through), any other byte
 * as the Latin-1 character of the same value.
 */
function looseUtf8(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i] ?? 0;
    const length = lead >= 0xf0 && lead <= 0xf7 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    const tail = bytes.slice(i + 1, i + length);
    const wellFormed =
      length > 1 && lead <= 0xf7 && tail.length === length - 1 && tail.every((b) => (b & 0xc0) === 0x80);
    if (!wellFormed) {
      out += String.fromCharCode(lead);
      i++;
      continue;
    }
    let point = lead & (0xff >> (length + 1));
    for (const b of tail) point = (point << 6) | (b & 0x3f);
    out += point > 0x10ffff ? String.fromCharCode(lead) : String.fromCodePoint(point);
    i += point > 0x10ffff ? 1 : length;
  }
  return out;
}

/** Percent-decodes once, each run of escapes as UTF-8 (loosely); malformed escapes stay as they are. */
function decodeOnce(text: string): string {
  return text.replace(PERCENT_RUN, (run) => {
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i += 3) bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
    return looseUtf8(bytes);
  });
}

/** One way a server may read a piece of a URL, and how it came to read it so. */
interface Reading {
  readonly text: string;
  readonly how: string;
}

/** How many rounds of decoding the checks follow: any depth a server would plausibly decode. */
const DECODING_ROUNDS = 5;
const TIMES = ['', 'once', 'twice'];

/** Printable ASCII but "%": a segment with no reading but itself. */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * Every way a server may read a piece of a URL the caller wrote: as written, Unicode-normalised
 * (NFKC, which maps the fullwidth "．", "․", "﹒" to "." and "‥" to ".."), percent-decoded once,
 * twice…, and each of those normalised; until nothing changes. Undefined when it still changes
 * after DECODING_ROUNDS rounds.
 */
export function readingsOf(text: string): Reading[] | undefined {
  // The usual segment, on every proxied request: printable ASCII without "%" has no other
  // reading (NFKC leaves it as it is, and there is nothing to decode).
  if (PLAIN.test(text)) return [{ text, how: 'as written' }];
  const readings: Reading[] = [];
  let current = text;
  for (let round = 0; round < DECODING_ROUNDS; round++) {
    const how = round === 0 ? 'as written' : `percent-decoded ${TIMES[round] ?? `${round} times`}`;
    readings.push({ text: current, how });
    // Normalised before decoding, as well: a fullwidth "％２ｅ" is "%2e" to such a server.
    const normal = current.normalize('NFKC');
    if (normal !== current)
      readings.push({
        text: normal,
        how: round === 0 ? 'Unicode-normalised (NFKC)' : `${how}, then Unicode-normalised (NFKC)`,
      });
    const next = decodeOnce(normal);
    if (next === normal) return readings;
    current = next;
  }
  return undefined;
}

function refusePath(noun: string, why: string): never {
  throw new FieldError(PATH_FIELD, `${noun} ${why}`, {
    hint:
      "give a path below the host's base URL, without '.' or '..' segments in any form " +
      "(percent-encoded, fullwidth or other Unicode dots, or followed by a ';' parameter), backslashes or '//'",
  });
}

/**
 * Checks the raw (still percent-encoded) path the caller gave after `/proxy/`, each segment as
 * any server on the way may read it (readingsOf): no `.` or `..` segment, including one with a
 * `;` parameter (`..;/` is `..` to Tomcat and Spring) or made of Unicode dots; no backslash
 * (some servers treat it as a separator); no empty segment (`//host` is an authority to some
 * parsers); no control characters; no fragment. A refusal names the segment as written.
 */
export function checkProxyPath(raw: string, noun = 'the proxied path'): void {
  if (plainlyInside(raw)) return;
  if (raw.includes('#')) refusePath(noun, 'contains "#"');
  const segments = raw.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    // Only built for a refusal: a path may have thousands of segments.
    const shown = (): string => JSON.stringify(segment.slice(0, 100));
    const readings = readingsOf(segment);
    if (!readings) refusePath(noun, `segment ${shown()} is encoded too many times`);
    for (const { text, how } of readings) {
      if (text.includes('\\')) refusePath(noun, `segment ${shown()} contains a backslash (${how})`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(text))
        refusePath(noun, `segment ${shown()} contains a control character (${how})`);
      // An encoded "/" makes several segments of one to a server that decodes it.
      const parts = text.split('/');
      for (let j = 0; j < parts.length; j++) {
        const part = parts[j] ?? '';
        const name = part.split(';', 1)[0];
        if (name === '.' || name === '..') {
          const parameter = part === name ? '' : ', its ";" parameter dropped';
          refusePath(
            noun,
            `segment ${shown()} is a ${JSON.stringify(name)} segment (${how}${parameter}), which leads out of the base path`,
          );
        }
        // A trailing slash is fine (`/files/`); an empty segment anywhere else is not.
        const final = i === segments.length - 1 && j === parts.length - 1;
        if (part === '' && !final) refusePath(noun, 'contains an empty segment ("//")');
      }
    }
  }
}

/** A "." or ".." segment, with or without a ";" parameter, in a path with nothing to decode. */
const PLAIN_DOT_SEGMENT = /(?:^|\/)\.\.?(?:[;/]|$)/;

/**
 * The usual path, accepted in one pass over it: printable ASCII without "%" (each segment's
 * only reading is itself), no backslash, no dot segment, no empty segment but a final one. Any
 * other path goes through the segment-by-segment check, which words the refusal.
 */
function plainlyInside(raw: string): boolean {
  return (
    PLAIN.test(raw) &&
    !raw.includes('\\') &&
    !raw.includes('#') &&
    !raw.startsWith('/') &&
    !raw.includes('//') &&
    !PLAIN_DOT_SEGMENT.test(raw)
  );
}

/**
 * The upstream URL, without the query: the host's base URL (with its environment override), the
 * path appended to its base path. Checked again once built: the same origin, and a path still
 * under the base path after the URL parser's normalisation.
 */
export function proxyTarget(host: Host, env: Env, rawPath: string): URL {
  return placeUnderBase(host, env, rawPath).target;
}

/** proxyTarget's URL with the host's base URL it was placed under (parsed once for both). */
export function placeUnderBase(host: Host, env: Env, rawPath: string): { base: URL; target: URL } {
  checkProxyPath(rawPath);
  const base = new URL(effectiveHostUrl(host, env));
  const basePath = base.pathname.replace(/\/+$/, '');
  const target = new URL(`${base.origin}${basePath}/${rawPath}`);
  const inside =
    target.origin === base.origin &&
    (target.pathname === basePath || target.pathname.startsWith(`${basePath}/`)) &&
    target.username === '' &&
    target.password === '' &&
    target.search === '' &&
    target.hash === '';
  if (!inside) refusePath('the proxied path', `leaves ${base.origin}${basePath}/`);
  return { base, target };
}

/**
 * Checks the caller's raw query, which is sent upstream as it was written (a URL parser would
 * re-encode `;`, `=`, quotes…, which some APIs read differently). No `#` (a fragment is never
 * sent). When the connection's API key goes in the query (`keyParam`), the caller's query may
 * not name that parameter in any spelling a server may read as it (case, percent-encoding,
 * Unicode forms, `key[]`, PHP's `.`/space for `_`, `;` as a separator): the proxy appends
 * the key itself, and a second one would be the upstream's to choose between. Refused rather
 * than removed: removing it would need the proxy to parse the query exactly as the upstream does.
 */
export function checkProxyQuery(raw: string, keyParam: string | undefined): void {
  if (raw.includes('#')) {
    throw new FieldError('query', 'the query contains "#"', {
      hint: 'percent-encode a "#" in a value as %23 (a fragment is never sent)',
    });
  }
  if (keyParam === undefined) return;
  const wanted = keyParam.normalize('NFKC').toLowerCase();
  const refuse: (written: string) => never = (written) => {
    throw new FieldError(
      `query.${keyParam}`,
      `the query names ${JSON.stringify(written.slice(0, 100))}, which reads as ${keyParam}, the parameter the connection's API key goes in`,
      { hint: `leave ${keyParam} out of the query: the proxy adds the connection's key itself` },
    );
  };
  for (const pair of raw.split(/[&;]/)) {
    const name = pair.split('=', 1)[0] ?? '';
    const readings = readingsOf(name.replaceAll('+', ' '));
    if (!readings) refuse(name);
    for (const { text } of readings) {
      // `key[]=`, `key[a][b]=`: PHP and Rails read the name up to the first "[". Not a regular
      // expression: one ending in "\]$" backtracks quadratically over a name full of "[".
      const lower = text.trim().toLowerCase();
      const open = lower.endsWith(']') ? lower.indexOf('[') : -1;
      const bare = open > 0 ? lower.slice(0, open) : lower;
      if (bare === wanted || bare.replace(/[ .[]/g, '_') === wanted) refuse(name);
    }
  }
}

/** The path and query sent upstream: the target's path, the caller's query as written, then the key when it goes in the query. */
export function wirePath(
  target: URL,
  rawQuery: string,
  keyParam: readonly [string, string] | undefined,
): string {
  const key = keyParam ? `${encodeURIComponent(keyParam[0])}=${encodeURIComponent(keyParam[1])}` : '';
  const query = [rawQuery, key].filter((part) => part !== '').join('&');
  return query === '' ? target.pathname : `${target.pathname}?${query}`;
}
