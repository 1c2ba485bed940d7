import type { Connector, Endpoint, Host } from './model.js';

/**
 * What changed between two connectors (two versions of one, usually): the hosts added, removed
 * and changed (a base URL moved from /v1 to /v2 changes every call), the endpoints added and
 * removed, and for those in both, each field that differs and their params added, removed and
 * changed. Wording (summary, description, docs) is left out: a diff says what a caller must
 * change. Values are plain JSON; a secret param's default is never shown, only that it changed.
 */

export interface FieldChange {
  readonly field: string;
  /** JSON of the value before and after; undefined when absent (or hidden: `secret`). */
  readonly from?: unknown;
  readonly to?: unknown;
  /** True when the values are not shown (the default of a secret param). */
  readonly hidden?: boolean;
}

export interface ParamChanges {
  readonly name: string;
  readonly changes: readonly FieldChange[];
}

export interface EndpointChanges {
  readonly name: string;
  readonly changes: readonly FieldChange[];
  readonly params: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly ParamChanges[];
  };
}

export interface HostChanges {
  readonly name: string;
  readonly changes: readonly FieldChange[];
}

export interface ConnectorDiff {
  readonly from: { readonly name: string; readonly version: number };
  readonly to: { readonly name: string; readonly version: number };
  /** The hosts by their key: base URLs (and the variable that overrides each). */
  readonly hosts: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly HostChanges[];
  };
  /** OAuth scopes asked for at sign-in, added and removed (what a move may need granted). */
  readonly scopes: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly endpoints: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly EndpointChanges[];
  };
}

/** Fields that are wording, or that name the thing compared. */
const ENDPOINT_SKIPPED = new Set(['name', 'params', 'summary', 'description', 'docs_url']);
const PARAM_SKIPPED = new Set(['key', 'description']);
const HOST_SKIPPED = new Set(['key', 'description']);

export function diffConnectors(from: Connector, to: Connector): ConnectorDiff {
  const scopesOf = (c: Connector): readonly string[] => (c.auth.type === 'oauth2' ? c.auth.scopes : []);
  const [hostsAdded, hostsRemoved, hostsInBoth] = split(from.hosts, to.hosts, (h: Host) => h.key);
  const hostsChanged: HostChanges[] = [];
  for (const [before, after] of hostsInBoth) {
    const changes = fieldChanges(before, after, HOST_SKIPPED, () => false);
    if (changes.length > 0) hostsChanged.push({ name: before.key, changes });
  }
  const [added, removed, both] = split(from.endpoints, to.endpoints, (e) => e.name);
  const changed: EndpointChanges[] = [];
  for (const [before, after] of both) {
    const found = diffEndpoint(before, after);
    if (found) changed.push(found);
  }
  return {
    from: { name: from.name, version: from.version },
    to: { name: to.name, version: to.version },
    hosts: {
      added: hostsAdded.map((h) => h.key),
      removed: hostsRemoved.map((h) => h.key),
      changed: hostsChanged,
    },
    scopes: {
      added: scopesOf(to).filter((s) => !scopesOf(from).includes(s)),
      removed: scopesOf(from).filter((s) => !scopesOf(to).includes(s)),
    },
    endpoints: { added: added.map((e) => e.name), removed: removed.map((e) => e.name), changed },
  };
}

/** True when the two are the same in every way the diff looks at. */
export function isEmptyDiff(diff: ConnectorDiff): boolean {
  const { hosts, scopes, endpoints } = diff;
  return [
    hosts.added,
    hosts.removed,
    hosts.changed,
    scopes.added,
    scopes.removed,
    endpoints.added,
    endpoints.removed,
    endpoints.changed,
  ].every((list) => list.length === 0);
}

function diffEndpoint(before: Endpoint, after: Endpoint): EndpointChanges | undefined {
  const changes = fieldChanges(before, after, ENDPOINT_SKIPPED, () => false);
  const [added, removed, both] = split(before.params, after.params, (p) => p.key);
  const changed: ParamChanges[] = [];
  for (const [a, b] of both) {
    const secret = (field: string): boolean => field === 'default' && (a.secret || b.secret);
    const found = fieldChanges(a, b, PARAM_SKIPPED, secret);
    if (found.length > 0) changed.push({ name: a.key, changes: found });
  }
  if (changes.length + added.length + removed.length + changed.length === 0) return undefined;
  return {
    name: before.name,
    changes,
    params: { added: added.map((p) => p.key), removed: removed.map((p) => p.key), changed },
  };
}

/** Each field of `a` or `b` (but `skipped`) whose JSON differs, in a stable order. */
function fieldChanges(
  a: object,
  b: object,
  skipped: ReadonlySet<string>,
  hidden: (field: string) => boolean,
): FieldChange[] {
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !skipped.has(f)).sort();
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const before: unknown = Reflect.get(a, field);
    const after: unknown = Reflect.get(b, field);
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    changes.push(
      hidden(field)
        ? { field, hidden: true }
        : {
            field,
            ...(before === undefined ? {} : { from: before }),
            ...(after === undefined ? {} : { to: after }),
          },
    );
  }
  return changes;
}

/** What only `after` has, what only `before` has, and the pairs both have (by `key`, in `before`'s order). */
function split<T>(before: readonly T[], after: readonly T[], key: (item: T) => string): [T[], T[], [T, T][]] {
  const afterByKey = new Map(after.map((item) => [key(item), item]));
  const beforeKeys = new Set(before.map(key));
  const both: [T, T][] = [];
  const removed: T[] = [];
  for (const item of before) {
    const twin = afterByKey.get(key(item));
    if (twin === undefined) removed.push(item);
    else both.push([item, twin]);
  }
  return [after.filter((item) => !beforeKeys.has(key(item))), removed, both];
}

/** The diff as lines for people: `+` added, `-` removed, `~` changed; every value as JSON. */
export function formatDiff(diff: ConnectorDiff): string[] {
  const lines: string[] = [`${ref(diff.from)} -> ${ref(diff.to)}`];
  if (isEmptyDiff(diff)) return [...lines, '  no differences in hosts, endpoints, params or scopes'];
  for (const name of diff.hosts.added) lines.push(`+ host ${name}`);
  for (const name of diff.hosts.removed) lines.push(`- host ${name}`);
  for (const host of diff.hosts.changed) {
    lines.push(`~ host ${host.name}`);
    for (const change of host.changes) lines.push(`    ~ ${describeChange(change)}`);
  }
  for (const scope of diff.scopes.added) lines.push(`+ scope ${JSON.stringify(scope)}`);
  for (const scope of diff.scopes.removed) lines.push(`- scope ${JSON.stringify(scope)}`);
  for (const name of diff.endpoints.added) lines.push(`+ endpoint ${name}`);
  for (const name of diff.endpoints.removed) lines.push(`- endpoint ${name}`);
  for (const endpoint of diff.endpoints.changed) {
    lines.push(`~ endpoint ${endpoint.name}`);
    for (const change of endpoint.changes) lines.push(`    ~ ${describeChange(change)}`);
    for (const name of endpoint.params.added) lines.push(`    + param ${name}`);
    for (const name of endpoint.params.removed) lines.push(`    - param ${name}`);
    for (const param of endpoint.params.changed) {
      lines.push(`    ~ param ${param.name}`);
      for (const change of param.changes) lines.push(`        ~ ${describeChange(change)}`);
    }
  }
  return lines;
}

function ref(side: { readonly name: string; readonly version: number }): string {
  return `${side.name}@${side.version}`;
}

/** `path: "/v1/me" -> "/v2/me"`: values as JSON, so none can pass for a line of its own. */
function describeChange(change: FieldChange): string {
  if (change.hidden) return `${change.field}: changed (secret, not shown)`;
  const show = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value));
  return `${change.field}: ${show(change.from)} -> ${show(change.to)}`;
}
