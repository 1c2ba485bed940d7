// Validates the built-in connectors once, at build time, into dist/connectors.json (see
// src/core/connector/prebuilt.ts). Run by `npm run build` after tsc; a broken built-in
// connector fails the build.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const { parseConnector } = await import('../dist/core/connector/load.js');
const { PREBUILT_FILE } = await import('../dist/core/connector/prebuilt.js');
const dir = join(root, 'connectors');
const entries = [];
for (const file of readdirSync(dir)
  .filter((f) => /\.ya?ml$/i.test(f))
  .sort()) {
  const text = readFileSync(join(dir, file), 'utf8');
  const result = parseConnector(text, { file: join(dir, file), origin: 'builtin' });
  if (!result.ok) {
    for (const p of result.problems) console.error(`${p.file}:${p.line}:${p.column}: ${p.message}`);
    process.exit(1);
  }
  const { source: _source, ...connector } = result.connector;
  entries.push({ file, text, connector });
}
writeFileSync(PREBUILT_FILE, JSON.stringify({ version: 3, entries }));
