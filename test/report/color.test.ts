import { describe, expect, it } from 'vitest';
import { paint, shouldColor } from '../../src/report/color.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };
const unknown = {};

type Case = [stream: { isTTY?: boolean }, env: Record<string, string>, expected: boolean, why: string];

describe('shouldColor', () => {
  it.each<Case>([
    // [stream, env, expected, why]
    [tty, {}, true, 'a TTY'],
    [pipe, {}, false, 'a pipe'],
    [unknown, {}, false, 'a stream without isTTY'],
    [tty, { TERM: 'dumb' }, false, 'TERM=dumb'],
    [tty, { TERM: 'xterm-256color' }, true, 'an ordinary TERM'],
    [tty, { NO_COLOR: '1' }, false, 'NO_COLOR'],
    [tty, { NO_COLOR: '' }, true, 'empty NO_COLOR counts as unset'],
    [tty, { NODE_DISABLE_COLORS: '1' }, false, 'NODE_DISABLE_COLORS'],
    [pipe, { FORCE_COLOR: '1' }, true, 'FORCE_COLOR on a pipe'],
    [pipe, { FORCE_COLOR: '' }, true, 'empty FORCE_COLOR means level 1'],
    [pipe, { FORCE_COLOR: '3' }, true, 'FORCE_COLOR=3'],
    [pipe, { FORCE_COLOR: 'true' }, true, 'FORCE_COLOR=true'],
    [tty, { FORCE_COLOR: '0' }, false, 'FORCE_COLOR=0 on a TTY'],
    [tty, { FORCE_COLOR: 'false' }, false, 'FORCE_COLOR=false on a TTY'],
    [pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true, 'FORCE_COLOR beats NO_COLOR (as in Node)'],
    [tty, { FORCE_COLOR: '0', NO_COLOR: '' }, false, 'FORCE_COLOR=0 beats a TTY'],
    [pipe, { FORCE_COLOR: '1', TERM: 'dumb' }, true, 'FORCE_COLOR beats TERM=dumb'],
  ])('%o %o → %s (%s)', (stream, env, expected) => {
    expect(shouldColor(stream, env)).toBe(expected);
  });
});

describe('paint', () => {
  it('is the identity when disabled', () => {
    const p = paint(false);
    for (const style of Object.values(p)) expect(style('x')).toBe('x');
  });

  it('writes ANSI codes when enabled, whatever the environment says', () => {
    const p = paint(true);
    expect(p.red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(p.yellow('x')).toBe('\x1b[33mx\x1b[39m');
    expect(p.blue('x')).toBe('\x1b[34mx\x1b[39m');
    expect(p.green('x')).toBe('\x1b[32mx\x1b[39m');
    expect(p.dim('x')).toBe('\x1b[2mx\x1b[22m');
    expect(p.bold('x')).toBe('\x1b[1mx\x1b[22m');
    expect(p.underline('x')).toBe('\x1b[4mx\x1b[24m');
  });
});
