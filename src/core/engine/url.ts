import type { Endpoint, Param } from '../connector/model.js';
import { ConnectrError } from '../errors.js';

/**
 * URL building shared by every request: the endpoint's path template filled with escaped path
 * params, appended to a base URL that may itself carry a path (https://graph.microsoft.com/v1.0).
 */

export function joinBaseUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export function escapePathValue(value: string, style: Param['style']): string {
  switch (style) {
    case 'path':
      // OneDrive item paths: keep the slashes between segments, escape each segment.
      return value
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .map((segment) => encodeURIComponent(segment))
        .join('/');
    case 'odata_string':
      // Inside an OData string literal a quote is written twice.
      return encodeURIComponent(value.replace(/'/g, "''"));
    default:
      return encodeURIComponent(value);
  }
}

/** The endpoint path with each {key} replaced by its value, escaped as the param's style says. */
export function expandPath(endpoint: Endpoint, values: Readonly<Record<string, unknown>>): string {
  return endpoint.path.replace(/\{([^{}]+)\}/g, (_, key: string) => {
    const param = endpoint.params.find((p) => p.key === key);
    const value = values[key] ?? param?.default;
    if (value === undefined || value === null || value === '') {
      throw new ConnectrError(
        'invalid_input',
        `missing value for path parameter ${key} of ${endpoint.name}`,
        {
          hint: param ? `pass --${param.flag}` : undefined,
        },
      );
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ConnectrError(
        'invalid_input',
        `path parameter ${key} of ${endpoint.name} must be a single value`,
      );
    }
    const text = String(value);
    if (param?.style !== 'odata_string') refuseDotSegments(text, param ? `--${param.flag}` : key);
    return escapePathValue(text, param?.style);
  });
}

/**
 * A path value stays inside the path it is placed in: `.` and `..` are refused as the whole
 * value and as any segment of it, because a URL parser or the server resolves them against the
 * base (`--path ../../users/x` under `/me/drive/root:/` reaches another drive; `--id ..` drops
 * a path segment). The check also looks through percent-encoding a server may decode
 * (`%2e%2e`, `%252e`) and treats a backslash as a separator, as IIS-style servers do.
 */
export function refuseDotSegments(value: string, flag: string): void {
  let decoded = value;
  for (let round = 0; round < 4; round++) {
    const segments = decoded.split(/[/\\]/);
    if (segments.some((segment) => segment === '.' || segment === '..')) {
      throw new ConnectrError(
        'invalid_input',
        `${flag} ${JSON.stringify(value)} contains a "." or ".." segment, which would leave the endpoint's path`,
        { hint: 'name the item itself (its full path from the root, or its id), without "." or ".."' },
      );
    }
    const next = percentDecode(decoded);
    if (next === decoded) return;
    decoded = next;
  }
}

/** One round of percent-decoding, leaving malformed escapes as they are. */
function percentDecode(text: string): string {
  return text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
