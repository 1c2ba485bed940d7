import { describe, expect, it } from 'vitest';
import { createStyle } from '../../src/cli/output.js';

describe('the terminal styler', () => {
  it('wraps text in 16-colour SGR codes when colour is on', () => {
    const s = createStyle(true);
    expect(s.bold('a')).toBe('\u001b[1ma\u001b[22m');
    expect(s.dim('a')).toBe('\u001b[2ma\u001b[22m');
    expect(s.red('a')).toBe('\u001b[31ma\u001b[39m');
    expect(s.green('a')).toBe('\u001b[32ma\u001b[39m');
    expect(s.yellow('a')).toBe('\u001b[33ma\u001b[39m');
    expect(s.cyan('a')).toBe('\u001b[36ma\u001b[39m');
  });

  it('opens a style again after a nested one closes it', () => {
    const s = createStyle(true);
    expect(s.bold(`a ${s.dim('b')} c`)).toBe('\u001b[1ma \u001b[2mb\u001b[22m\u001b[1m c\u001b[22m');
    expect(s.green(`a ${s.red('b')} c`)).toBe('\u001b[32ma \u001b[31mb\u001b[39m\u001b[32m c\u001b[39m');
  });

  it('leaves text alone without colour, and an empty text empty', () => {
    expect(createStyle(false).bold('a')).toBe('a');
    expect(createStyle(true).bold('')).toBe('');
  });
});
