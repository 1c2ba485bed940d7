import { escapeHtml } from '../../core/escape-html.js';

/**
 * HTML written as template literals that escape every value they are given: connector names,
 * user ids, tags and providers' error text are hostile input, so escaping is what happens unless
 * a value is already `Html` (made by `html` itself, or `trusted` for markup the daemon wrote).
 */

export { escapeHtml };

/** Markup that is safe to send as it is. */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What a template may hold: text (escaped), markup, nothing (null, undefined, false), or a list of them. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup the daemon wrote itself (never text that came from a request, a definition or a provider). */
export function trusted(markup: string): Html {
  return new Html(markup);
}
