/**
 * Text from anywhere (an upstream server, a definition file, a file name) made safe to show on
 * a terminal. Control characters could otherwise clear the screen, move the cursor, set the
 * window title or fake a line of connectr's own (`hint: ...`). Every printed message goes
 * through here (main.ts reportError, output.ts); bodies the user asked for byte-exact (a pipe,
 * -o FILE, --raw) do not.
 */

/**
 * C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional
 * overrides and isolates (which reorder what a terminal shows).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * connectr's own terminal styles, as SGR open and close codes: the styler (output.ts) writes
 * exactly these, and escapeStyled keeps exactly these, so a style added here can never be
 * shown escaped (cyan was, as `\x1b[36mGET`).
 */
export const STYLE_CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const satisfies Record<string, readonly [number, number]>;

/**
 * The sequences of STYLE_CODES, kept when the output is meant to be coloured. Any other
 * sequence is escaped: even SGR can hide text (8, conceal) or swap it (7, reverse).
 */
const SGR = new RegExp(`\u001b\\[(?:${[...new Set(Object.values(STYLE_CODES).flat())].join('|')})m`, 'g');

/** `\x1b`, `\r`, `\u202e`: the character written the way JavaScript and C would write it. */
function visible(c: string): string {
  if (c === '\r') return '\\r';
  if (c === '\n') return '\\n';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/** Control characters escaped; newlines and tabs kept. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** One line: newlines escaped too (a table cell, a value inside a sentence). */
export function escapeLine(text: string): string {
  return escapeControls(text).replace(/\n/g, '\\n');
}

/**
 * A message, a detail or a hint printed after a label (`error: `, `  `, `hint: `): one line,
 * control characters and line breaks escaped. Each part of connectr's error report is exactly
 * one line, so text from elsewhere inside it (an API's message, a daemon's answer, a file
 * name) can never start a line of its own that passes for connectr's `hint:`, `error:` or an
 * indented detail, however it is indented.
 */
export function escapeMessage(text: string): string {
  return escapeLine(text);
}

/**
 * Text that may carry connectr's own colours: the colour sequences are kept when `color` is
 * on (they only change colours), every other control character is escaped.
 */
export function escapeStyled(text: string, color: boolean): string {
  if (!color) return escapeControls(text);
  let out = '';
  let last = 0;
  for (const match of text.matchAll(SGR)) {
    out += escapeControls(text.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return out + escapeControls(text.slice(last));
}

const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON for a terminal or a pipe: JSON.stringify already escapes C0 controls; DEL, C1 and the
 * bidirectional controls are escaped too (the value stays the same JSON value).
 */
export function escapeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
