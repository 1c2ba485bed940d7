import { STYLE_CODES, escapeJson, escapeLine, escapeStyled } from './escape.js';
import type { IO } from './io.js';
import { write } from './io.js';

/**
 * How results reach the user: JSON for programs (when --json is given or stdout is not a
 * terminal), aligned text for people. Progress and warnings go to stderr so a pipe only ever
 * carries the result.
 */
export interface Output {
  readonly io: IO;
  readonly json: boolean;
  readonly style: Style;
  /** A JSON value: indented on a terminal, one line when piped. */
  printJson(value: unknown): void;
  line(text?: string): void;
  warn(text: string): void;
  info(text: string): void;
}

export function createOutput(io: IO, forceJson: boolean): Output {
  const style = createStyle(io.color);
  return {
    io,
    json: forceJson || !io.stdoutIsTTY,
    style,
    printJson(value) {
      write(io.stdout, escapeJson(JSON.stringify(value, null, io.stdoutIsTTY ? 2 : undefined)));
    },
    line(text = '') {
      write(io.stdout, escapeStyled(text, io.color));
    },
    warn(text) {
      // One line, as an error's parts are: no text inside it can pass for a line of connectr's own.
      write(io.stderr, `${style.yellow('warning:')} ${escapeStyled(text, io.color).replace(/\n/g, '\\n')}`);
    },
    info(text) {
      write(io.stderr, escapeStyled(text, io.color));
    },
  };
}

/** The few terminal styles connectr uses (16-colour SGR codes), or none without colour. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/**
 * A tiny styler in place of chalk, whose loading cost a measurable share of start-up (issue
 * #8). As chalk does, a style closed inside the text is opened again after it, so nested
 * styles survive; an empty text stays empty.
 */
export function createStyle(color: boolean): Style {
  const sgr =
    (open: number, close: number) =>
    (text: string): string => {
      if (!color || text === '') return text;
      const closing = `\u001b[${close}m`;
      return `\u001b[${open}m${text.replaceAll(closing, `${closing}\u001b[${open}m`)}${closing}`;
    };
  return {
    bold: sgr(...STYLE_CODES.bold),
    dim: sgr(...STYLE_CODES.dim),
    red: sgr(...STYLE_CODES.red),
    green: sgr(...STYLE_CODES.green),
    yellow: sgr(...STYLE_CODES.yellow),
    cyan: sgr(...STYLE_CODES.cyan),
  };
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** This column absorbs the shortfall when the terminal is narrow. */
  readonly shrink?: boolean;
}

/** Rows as aligned columns, fitted to the terminal width by cutting the shrinkable column. */
export function table<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  width: number,
  style: Style,
): string {
  const cells = rows.map((row) => columns.map((c) => escapeLine(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const shrinkAt = columns.findIndex((c) => c.shrink);
  if (total > width && shrinkAt >= 0) {
    widths[shrinkAt] = Math.max(10, (widths[shrinkAt] ?? 0) - (total - width));
  }
  const fit = (text: string, i: number): string => {
    const w = widths[i] ?? 0;
    const cut = text.length > w ? `${text.slice(0, Math.max(0, w - 1))}…` : text;
    return i === columns.length - 1 ? cut : cut.padEnd(w);
  };
  const header = columns.map((c, i) => style.bold(fit(c.header, i))).join('  ');
  return [header, ...cells.map((r) => r.map((text, i) => fit(text, i)).join('  '))].join('\n');
}

/** Words of `text` in lines of at most `width` characters (a word longer than that stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(current);
  return lines.length ? lines : [''];
}

/** `term   text` pairs, the text wrapped in its own column, as in --help output. */
export function definitionList(
  items: readonly { term: string; text: string }[],
  width: number,
  indent = 2,
): string {
  const termWidth = Math.min(36, Math.max(...items.map((i) => i.term.length)));
  const textWidth = Math.max(30, width - indent - termWidth - 2);
  const pad = ' '.repeat(indent);
  return items
    .map(({ term, text }) => {
      const [first = '', ...rest] = wrap(text, textWidth);
      const head =
        term.length > termWidth
          ? `${pad}${term}\n${pad}${' '.repeat(termWidth + 2)}${first}`
          : `${pad}${term.padEnd(termWidth)}  ${first}`;
      return [head, ...rest.map((l) => `${pad}${' '.repeat(termWidth + 2)}${l}`)].join('\n').trimEnd();
    })
    .join('\n');
}
