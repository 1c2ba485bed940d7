import { resolve } from 'node:path';
import type { Connector } from '../../../core/connector/model.js';
import type { Registry } from '../../../core/connector/registry.js';
import { parseConnectorRef } from '../../../core/connector/versions.js';
import { ConnectrError } from '../../../core/errors.js';
import { checkFiles, writeFiles } from '../../../core/generate/files.js';
import { availableLanguages, loadLanguage } from '../../../core/generate/manifest.js';
import { renderLanguage } from '../../../core/generate/render.js';
import type { GeneratedFile } from '../../../core/generate/render.js';
import { VERSION } from '../../../core/version.js';
import type { CliContext } from '../../context.js';
import type { GenerateFlags } from './register.js';

/**
 * Renders every chosen language for every chosen connector in memory first (a template that
 * fails stops everything before a file is touched), then writes them all, or with --check
 * compares them with the files on disk.
 */
export async function generate(ctx: CliContext, flags: GenerateFlags): Promise<void> {
  const registry = await ctx.registry();
  const connectors = chooseConnectors(registry, flags);
  const available = availableLanguages(flags.templates === undefined ? undefined : resolve(flags.templates));
  const languages = [...new Set(flags.lang)].map((name) => loadLanguage(name, available));
  if (languages.length === 0)
    throw new ConnectrError('usage', '--lang names no language', { hint: 'e.g. --lang python,go' });

  const out = resolve(flags.out);
  const files: GeneratedFile[] = [];
  for (const language of languages) {
    for (const file of await renderLanguage(language, connectors, VERSION))
      files.push({ path: `${language.name}/${file.path}`, content: file.content });
  }

  if (flags.check) {
    const drift = checkFiles(out, files);
    const stale = [
      ...drift.missing.map((p) => `missing: ${p}`),
      ...drift.changed.map((p) => `differs: ${p}`),
    ];
    if (stale.length > 0) {
      throw new ConnectrError(
        'invalid_input',
        `${stale.length} generated file(s) are not what the templates make now`,
        {
          details: stale,
          hint: `regenerate them: connectr generate ${describeFlags(flags)}`,
        },
      );
    }
    if (ctx.out.json) ctx.out.printJson({ up_to_date: files.length });
    else ctx.out.info(`${files.length} generated file(s) up to date in ${out}`);
    return;
  }
  const written = writeFiles(out, files);
  if (ctx.out.json) ctx.out.printJson({ written });
  else {
    for (const path of written) ctx.out.line(path);
    ctx.out.info(
      `Generated ${written.length} file(s) for ${connectors.length} connector(s) in ${languages.map((l) => l.name).join(', ')}.`,
    );
  }
}

function chooseConnectors(registry: Registry, flags: GenerateFlags): Connector[] {
  const all = registry.connectors;
  const pool = flags.builtin ? all.filter((c) => c.source.origin === 'builtin') : [...all];
  if (flags.connector === undefined || flags.connector.length === 0) {
    if (pool.length === 0) throw new ConnectrError('not_found', 'no connectors to generate');
    return pool;
  }
  const chosen = new Map<string, Connector>();
  for (const given of new Set(flags.connector)) {
    const ref = parseConnectorRef(given);
    // The registry's own errors: the closest name, the file that failed to load, the versions.
    const found = registry.requireVersion(ref.name, ref.version);
    if (flags.builtin && found.source.origin !== 'builtin') {
      throw new ConnectrError('usage', `${given} is not a built-in connector (--builtin)`, {
        hint: `built-in: ${pool.map((c) => c.name).join(', ')}`,
      });
    }
    const twin = chosen.get(found.name);
    // One connector's files have the same names whatever its version: one would overwrite the other.
    if (twin && twin.version !== found.version) {
      throw new ConnectrError(
        'usage',
        `--connector names two versions of ${found.name} (${twin.version} and ${found.version}); their files would overwrite each other`,
        { hint: 'generate each version into its own --out directory' },
      );
    }
    chosen.set(found.name, found);
  }
  return [...chosen.values()];
}

function describeFlags(flags: GenerateFlags): string {
  const parts = [`--lang ${flags.lang.join(',')}`, `--out ${flags.out}`];
  if (flags.builtin) parts.push('--builtin');
  for (const c of flags.connector ?? []) parts.push(`--connector ${c}`);
  if (flags.templates) parts.push(`--templates ${flags.templates}`);
  return parts.join(' ');
}
