/**
 * Terminal-escape injection (issue 7, docs/threat-model.md): text from the input — names, keys,
 * values, file names, op names in a trace, rule ids in .pviommu.yaml — reaches the terminal only
 * with its control characters shown as escapes (`\x1b`, `\u202e`), and never starts a new line.
 * Colour codes appear only where asked for (`--color`), and come from pviommu, not the input.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { printable } from '../../src/report/text.js';
import { run, repo as makeRepo } from '../cli/helpers.js';
import { removeTemps, track } from '../fuzz/harness.js';

const repo = (files: Record<string, string>) => track(makeRepo(files));
afterAll(() => removeTemps());

/** OSC title change + BEL, screen clear, a C1 CSI, a bidi override, DEL, NUL. */
const EVIL = '\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\x7f\0';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

const HOST = 'apiVersion: pviommu/v1\nkind: Host\nname: h\nram: 1GiB\niommu: { dom0: strict }\n';
const DOM0 = 'apiVersion: pviommu/v1\nkind: Domain\nname: d\nhost: h\ndomid: 0\ntype: pv\nrole: hardware\nmemory: 64MiB\n';
const q = (s: string) => JSON.stringify(s); // a YAML double-quoted scalar holding s

function clean(what: string, s: string): void {
  const m = CONTROL.exec(s);
  expect(m, `${what} has a raw ${m ? JSON.stringify(m[0]) : ''}: ${JSON.stringify(s.slice(0, 400))}`).toBeNull();
}

describe('control characters from the input never reach the terminal raw', () => {
  it('printable() shows each one as an escape', () => {
    expect(printable(EVIL)).toBe('\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e\\x7f\\x00');
    expect(printable('tab\there, ünïcödé, 😀')).toBe('tab\\x09here, ünïcödé, 😀');
  });

  it('names, keys, values and file names from the config', async () => {
    const dir = repo({
      [`f${EVIL.replace('\0', '')}.yaml`]: [
        `apiVersion: pviommu/v1\nkind: Host\nname: ${q('h' + EVIL)}\nram: ${q('1' + EVIL)}\n${q('k' + EVIL)}: 1\n`,
        DOM0.replace('name: d', `name: ${q('d' + EVIL)}`).replace('host: h', `host: ${q('h' + EVIL)}`),
        `apiVersion: pviommu/v1\nkind: ${q('K' + EVIL)}\nname: x\n`,
      ].join('---\n'),
    });
    for (const args of [['check', '.'], ['check', '.', '--quiet'], ['check', '.', '--format', 'github']]) {
      const r = await run(args, { cwd: dir });
      expect(r.code).toBe(1);
      clean(`${args.join(' ')} stdout`, r.stdout);
      clean(`${args.join(' ')} stderr`, r.stderr);
      expect(r.stdout).toContain('\\x1b'); // shown, not dropped
    }
  });

  it('--color adds pviommu\'s own colours and nothing from the input', async () => {
    const dir = repo({ 'h.yaml': `apiVersion: pviommu/v1\nkind: Host\nname: h\nram: 1GiB\n${q('k' + EVIL)}: 1\n` });
    const r = await run(['check', '.', '--color'], { cwd: dir });
    // strip pviommu's SGR colour sequences; whatever remains must be clean
    // eslint-disable-next-line no-control-regex
    clean('coloured text', r.stdout.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(r.stdout).toContain('\\x1b]0;pwned');
  });

  it('emulate text output: op names, callers, outputs and messages from a trace', async () => {
    const trace = [
      { op: `x${EVIL}`, caller: `c${EVIL}` },
      { op: 'memory.translate', domid: `v${EVIL}`, gfns: ['0x1'], [`k${EVIL}`]: 1, expect: { [`z${EVIL}`]: EVIL } },
      { op: 'memory.translate', domid: 'd', gfns: ['0x1'], expect: { mfns: [EVIL] } },
      { op: `multi\nline\r\nop` },
    ].map((c) => JSON.stringify(c)).join('\n') + '\n';
    const dir = repo({ 'h.yaml': `${HOST}---\n${DOM0}`, 't.jsonl': trace });
    const r = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h', '--quiet'], { cwd: dir });
    expect(r.code).toBe(1);
    clean('emulate stdout', r.stdout);
    clean('emulate stderr', r.stderr);
    // one head line per call: a newline in an op name cannot forge another one
    expect(r.stdout.split('\n').filter((l) => /^#\d+ /.test(l))).toHaveLength(4);
  });

  it('emulate text output of a scenario', async () => {
    const sc = `apiVersion: pviommu/v1\nkind: Scenario\nname: s\nhost: h\ncalls:\n  - { op: memory.translate, domid: d, gfns: ["0x1"], expect: { mfns: [${q(EVIL)}] } }\n`;
    const dir = repo({ 'h.yaml': `${HOST}---\n${DOM0}---\n${sc}` });
    const r = await run(['emulate', '.', '--scenario', 's'], { cwd: dir });
    clean('emulate stdout', r.stdout);
    clean('emulate stderr', r.stderr);
  });

  it('one-line errors (exit 2) quoting the input: a rule id from .pviommu.yaml', async () => {
    for (const id of [`r${EVIL}`, 'r\nforged: second line']) {
      const dir = repo({ 'h.yaml': `${HOST}---\n${DOM0}`, '.pviommu.yaml': `rules: { ${q(id)}: off }\n` });
      const r = await run(['check', '.'], { cwd: dir });
      expect(r.code).toBe(2);
      clean('stderr', r.stderr);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('command-line arguments echoed back (a scenario name) are escaped too', async () => {
    const dir = repo({ 'h.yaml': `${HOST}---\n${DOM0}` });
    const r = await run(['emulate', '.', '--scenario', `s${EVIL}`], { cwd: dir });
    expect(r.code).toBe(2);
    clean('stderr', r.stderr);
  });
});
