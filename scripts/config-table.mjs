// Writes the configuration tables of the docs from the settings' schema (src/core/settings,
// src/server/settings.ts): `npm run docs:config` (after `npm run build`). Each table sits
// between `<!-- settings:begin NAME -->` and `<!-- settings:end NAME -->` in a doc;
// `--check` only reports the docs that differ (test/docs/configuration.test.ts does the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const dist = (path) => import(pathToFileURL(join(root, 'dist', path)).href);

/** Where each table goes. */
export const DOCS = {
  'docs/configuration.md': ['environment', 'connector-environment', 'serve-flags'],
  'docs/server.md': ['serve-flags'],
  'docs/cli.md': ['serve-flags'],
};

const cell = (text) => text.replaceAll('|', '\\|');

function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Every table, by name, as markdown. */
export async function tables() {
  const [{ CORE_SETTINGS, CONNECTOR_PATTERNS }, { SERVER_SETTINGS, SERVE_FLAGS }] = await Promise.all([
    dist('core/settings/core.js'),
    dist('server/settings.js'),
  ]);
  const variables = Object.entries({ ...CORE_SETTINGS, ...SERVER_SETTINGS }).map(([name, { doc }]) => [
    `\`${name}\``,
    cell(doc.default ?? ''),
    doc.readBy.join(', '),
    cell(doc.meaning),
  ]);
  const patterns = CONNECTOR_PATTERNS.map((p) => [
    p.name
      .split(', ')
      .map((n) => `\`${n}\``)
      .join(', '),
    cell(p.meaning),
  ]);
  const flags = Object.values(SERVE_FLAGS).map((flag) => [
    `\`${flag.syntax}\``,
    flag.default !== undefined
      ? `\`${flag.default}\``
      : flag.env !== undefined
        ? `\`${flag.env}\`, else \`${SERVER_SETTINGS[flag.env].doc.default.replaceAll('`', '')}\``
        : (flag.defaultText ?? ''),
    cell(flag.meaning),
  ]);
  return {
    environment: table(['variable', 'default', 'read by', 'meaning'], variables),
    'connector-environment': table(['variable', 'meaning'], patterns),
    'serve-flags': table(['flag', 'default', 'meaning'], flags),
  };
}

/** `text` with each of its tables replaced by the schema's; throws when a marker is missing. */
export function withTables(text, names, generated, file) {
  let out = text;
  for (const name of names) {
    const begin = `<!-- settings:begin ${name} -->`;
    const end = `<!-- settings:end ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${file}: no ${begin} ... ${end}`);
    out = `${out.slice(0, from + begin.length)}\n\n${generated[name]}\n\n${out.slice(to)}`;
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const check = process.argv.includes('--check');
  const generated = await tables();
  let stale = 0;
  for (const [file, names] of Object.entries(DOCS)) {
    const path = join(root, file);
    const text = readFileSync(path, 'utf8');
    const next = withTables(text, names, generated, file);
    if (next === text) continue;
    stale++;
    if (check)
      console.error(`${file}: its configuration tables differ from the schema; run npm run docs:config`);
    else writeFileSync(path, next);
  }
  process.exitCode = check && stale > 0 ? 1 : 0;
}
