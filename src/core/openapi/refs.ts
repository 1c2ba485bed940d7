import { ConnectrError } from '../errors.js';

/**
 * `$ref`s inside one document. Before mapping, every `$ref` in the document is checked once:
 * it must point inside the document (external files and URLs are never read: a document from
 * elsewhere must not make connectr open local files or reach other hosts), it must resolve,
 * and following `$ref` after `$ref` must reach something other than a `$ref` (a chain that
 * comes back to itself describes nothing). A recursive schema (a tree node whose children are
 * nodes) is fine: the mapper reads schemas only a level or two deep.
 */

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deeper than this, a document is refused rather than walked (no real one comes close). */
const MAX_DEPTH = 500;
/** The most `$ref` hops from one place before giving up (cycles are found before this). */
const MAX_HOPS = 64;

export class RefResolver {
  private readonly chains = new Map<string, unknown>();

  constructor(private readonly root: unknown) {}

  /** The value at a local reference `#/a/b`, or undefined when it does not exist. */
  pointer(ref: string): unknown {
    if (ref === '#' || ref === '#/') return this.root;
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      let token: string;
      try {
        token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        return undefined;
      }
      if (Array.isArray(node)) {
        if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
        node = node[Number(token)];
      } else if (isObject(node) && Object.hasOwn(node, token)) {
        node = node[token];
      } else {
        return undefined;
      }
    }
    return node;
  }

  /** `value` with its `$ref` chain followed (checked by `check` first, so it ends). */
  resolve(value: unknown): unknown {
    let node = value;
    for (let hops = 0; hops < MAX_HOPS && isObject(node) && typeof node.$ref === 'string'; hops++) {
      node = this.pointer(node.$ref);
    }
    return node;
  }

  /** Throws a ConnectrError naming the first bad `$ref`: external, unresolvable or a cycle. */
  check(): void {
    const ancestors = new Set<object>();
    const done = new WeakSet<object>();
    const walk = (node: unknown, path: string[]): void => {
      if (typeof node !== 'object' || node === null) return;
      if (ancestors.has(node)) {
        throw new ConnectrError('invalid_input', `the document contains itself at ${place(path)}`, {
          hint: 'a YAML alias may not point at a mapping that contains it',
        });
      }
      if (done.has(node)) return;
      if (path.length > MAX_DEPTH) {
        throw new ConnectrError(
          'invalid_input',
          `the document nests deeper than ${MAX_DEPTH} levels at ${place(path)}`,
        );
      }
      ancestors.add(node);
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          walk(item, [...path, String(i)]);
        });
      } else {
        const object = node as Json;
        const ref = object.$ref;
        if (typeof ref === 'string') this.checkRef(ref, [...path, '$ref']);
        for (const key of Object.keys(object)) walk(object[key], [...path, key]);
      }
      ancestors.delete(node);
      done.add(node);
    };
    walk(this.root, []);
  }

  private checkRef(ref: string, path: string[]): void {
    if (this.chains.has(ref)) return;
    if (!ref.startsWith('#')) {
      throw new ConnectrError(
        'invalid_input',
        `external $ref "${ref}" at ${place(path)}: connectr reads one document and follows only references inside it`,
        {
          hint: 'bundle the document into one file first (e.g. redocly bundle, or @readme/openapi-parser bundle)',
        },
      );
    }
    const seen: string[] = [];
    let current = ref;
    for (;;) {
      if (seen.includes(current)) {
        throw new ConnectrError(
          'invalid_input',
          `$ref cycle at ${place(path)}: ${[...seen, current].join(' -> ')}`,
          { hint: 'each $ref must lead, eventually, to a schema or object that is not itself only a $ref' },
        );
      }
      seen.push(current);
      const target = this.pointer(current);
      if (target === undefined) {
        throw new ConnectrError(
          'invalid_input',
          `unresolvable $ref "${current}" at ${place(path)}: the document has nothing there`,
          { hint: 'fix the reference or add what it names' },
        );
      }
      if (!isObject(target) || typeof target.$ref !== 'string') break;
      if (!target.$ref.startsWith('#')) {
        throw new ConnectrError(
          'invalid_input',
          `external $ref "${target.$ref}" at ${current}: connectr reads one document and follows only references inside it`,
          { hint: 'bundle the document into one file first' },
        );
      }
      current = target.$ref;
    }
    for (const r of seen) this.chains.set(r, true);
  }
}

/** A JSON pointer to a place in the document, as it is written in `$ref`s. */
export function place(path: readonly string[]): string {
  return `#/${path.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}
