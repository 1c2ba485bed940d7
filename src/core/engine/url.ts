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
    return escapePathValue(String(value), param?.style);
  });
}
