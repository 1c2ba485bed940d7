/**
 * How deep JSON may nest where connectr takes it from others (the daemon's request bodies, MCP
 * tool arguments). JSON.parse takes any depth, but what comes after (JSON.stringify, schema
 * checks, copying) recurses: 100,000 levels overflow the stack. No API connectr calls needs a
 * hundred levels, so deeper input is refused before anything recurses over it.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether the JSON text nests more than `limit` arrays and objects, by one pass over the text
 * (brackets outside strings), without parsing it. Malformed text is for the parser to refuse.
 */
export function jsonTextTooDeep(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Whether a parsed value nests more than `limit` arrays and objects; walked without recursion. */
export function jsonValueTooDeep(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
