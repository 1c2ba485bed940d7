import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import * as z from 'zod';
import { ConnectrError } from '../errors.js';
import { packagePath } from '../install.js';
import { closest } from '../suggest.js';
import { FORMATTERS } from './format.js';

/**
 * A language of `connectr generate` is a folder of ejs templates with a `template.json` saying
 * which file each template makes: one per connector (`"each": "connector"`) or one in all
 * (`"each": "once"`). The built-in languages are in templates/; `--templates DIR` adds a user's
 * own (DIR/<language>/template.json), which replace a built-in one of the same name.
 */

export const BUILTIN_TEMPLATES_DIR = packagePath('templates');
export const MANIFEST = 'template.json';

/** Placeholders of an output path: the connector's name in each style. */
export const OUTPUT_PLACEHOLDERS = ['name', 'snake', 'camel', 'pascal', 'kebab'] as const;

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), {
    message: 'must be a path inside --out (relative, without "..")',
  });

const ManifestSchema = z.strictObject({
  language: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a lower-case name such as "python"'),
  description: z.string().optional(),
  keywords: z
    .array(z.string())
    .optional()
    .describe('Reserved words h.safe() escapes; the built-in list by default.'),
  format: z.enum(FORMATTERS).optional().describe('Formatter run on every file made: prettier or gofmt.'),
  files: z
    .array(
      z.strictObject({
        template: relativePath,
        output: relativePath,
        each: z.enum(['connector', 'once']),
      }),
    )
    .min(1),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export interface Language {
  readonly name: string;
  readonly dir: string;
  readonly manifest: Manifest;
}

/** Language folders of a templates directory (those holding a template.json). */
function languageDirs(root: string): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(root)) return found;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(join(root, entry.name, MANIFEST)))
      found.set(entry.name, join(root, entry.name));
  }
  return found;
}

/** Every language available: the built-in ones, then the user's (which win). */
export function availableLanguages(userDir?: string): Map<string, string> {
  if (userDir !== undefined && !(existsSync(userDir) && statSync(userDir).isDirectory())) {
    throw new ConnectrError('invalid_input', `--templates ${userDir} is not a directory`, {
      hint: 'give a directory holding <language>/template.json and its templates',
    });
  }
  const all = languageDirs(BUILTIN_TEMPLATES_DIR);
  if (userDir !== undefined) for (const [name, dir] of languageDirs(userDir)) all.set(name, dir);
  return all;
}

export function loadLanguage(name: string, available: Map<string, string>): Language {
  const dir = available.get(name);
  if (dir === undefined) {
    const names = [...available.keys()].sort();
    const guess = closest(name, names);
    throw new ConnectrError('usage', `no language "${name}" to generate`, {
      hint: `${guess ? `did you mean "${guess}"? ` : ''}choose from ${names.join(', ')}, or add templates with --templates DIR`,
    });
  }
  const file = join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConnectrError('invalid_input', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConnectrError('invalid_input', `${file} is not a valid template manifest`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`),
      hint: 'see templates/README.md for its fields',
    });
  }
  for (const f of parsed.data.files) {
    if (!existsSync(join(dir, f.template)))
      throw new ConnectrError(
        'invalid_input',
        `${file} names template ${f.template}, which is not in ${dir}`,
      );
    const unknown = [...f.output.matchAll(/\{([^}]*)\}/g)]
      .map((m) => m[1] ?? '')
      .filter((p) => !(OUTPUT_PLACEHOLDERS as readonly string[]).includes(p));
    if (unknown.length > 0)
      throw new ConnectrError(
        'invalid_input',
        `${file}: output "${f.output}" has unknown placeholder {${unknown[0] ?? ''}}`,
        {
          hint: `use ${OUTPUT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        },
      );
    if (f.each === 'connector' && !/\{[a-z]+\}/.test(f.output))
      throw new ConnectrError(
        'invalid_input',
        `${file}: output "${f.output}" is made once per connector but names no connector`,
        {
          hint: 'put {snake} (or {name}, {camel}, {pascal}, {kebab}) in the path',
        },
      );
  }
  return { name, dir, manifest: parsed.data };
}

/** Joins without letting a rendered name (a connector called "../x") leave the language's folder. */
export function outputPath(pattern: string, names: Readonly<Record<string, string>>): string {
  const path = pattern.replace(/\{([a-z]+)\}/g, (_, key: string) => names[key] ?? '');
  const clean = normalize(path);
  if (isAbsolute(clean) || clean.split(sep).includes('..'))
    throw new ConnectrError('invalid_input', `generated path ${path} would leave --out`);
  return clean;
}
