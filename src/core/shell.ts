/** Text made safe to paste into a POSIX shell: commands connectr prints (--curl, hints). */

/** POSIX shell single quotes. */
export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** One shell word: as it is when nothing in it is special to a shell, else single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : quote(text);
}
