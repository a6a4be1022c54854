/**
 * Shared harness of the static-rule tests: config → YAML text → load → validate → model →
 * one rule's findings. Two styles: `run(id, ...docs)` with `pos()` to compute expected anchors,
 * and `table(rule, cases)` over concise `Spec`s.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadText } from '../../src/config/load.js';
import { validateDocs } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import { getRule } from '../../src/policy/registry.js';
import { toFinding, type Rule, type StaticRule } from '../../src/policy/rule.js';
import type { Finding } from '../../src/policy/types.js';

/** Findings of one static rule over every host of a config given as YAML text (which must be input-clean). */
export function ruleFindings(rule: Rule, text: string): Finding[] {
  if (rule.phase !== 'static') throw new Error(`${rule.id} is not a static rule`);
  const loaded = loadText('t.yaml', text);
  expect(loaded.findings.filter((f) => f.severity === 'error')).toEqual([]);
  const { config, findings: input } = validateDocs(loaded.docs);
  expect(input).toEqual([]);
  const out: Finding[] = [];
  for (const hc of config.hosts) {
    const machine = buildMachine(hc);
    rule.check({ hc, machine, report: (a) => out.push(toFinding(rule, a, hc.host.name)) });
  }
  return out;
}

// ---- style 1: documents + positions --------------------------------------------------------

export type Obj = Record<string, unknown>;

export const HOST: Obj = { kind: 'Host', name: 'lab-1', cpu_vendor: 'intel', ram: '32GiB', iommu: { dom0: 'strict' } };
export const DOM0: Obj = { kind: 'Domain', name: 'dom0', domid: 0, type: 'pv', role: 'hardware', memory: '4GiB' };
export const device = (name: string, bdf: string, extra: Obj = {}): Obj => ({ kind: 'Device', name, bdf, assignable: true, ...extra });
export const hvm = (name: string, domid: number, extra: Obj = {}): Obj => ({ kind: 'Domain', name, domid, type: 'hvm', memory: '4GiB', ...extra });

/** Run one rule over a config made of `docs`; returns its findings and the YAML text. */
export function run(id: string, ...docs: Obj[]): { findings: Finding[]; text: string } {
  const text = docs.map((d) => stringify({ apiVersion: 'pviommu/v1', ...d })).join('---\n');
  return { findings: ruleFindings(getRule(id) as StaticRule, text), text };
}

/**
 * `line:col` (1-based, as findings report) of the `nth` occurrence of `needle` in `text`; for a
 * `key: value` needle, of the value.
 */
export function pos(text: string, needle: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`${needle} not in text`);
  const colon = needle.indexOf(': ');
  if (colon >= 0) i += colon + 2;
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}
export const at = (f: Finding) => `${f.line}:${f.column}`;

// ---- style 2: concise specs and tables ------------------------------------------------------

export interface Spec {
  host?: Obj;
  devices?: Obj[];
  domains?: Obj[];
}

export const dev = (name: string, bdf: string, extra: Obj = {}): Obj => ({ name, bdf, assignable: true, ...extra });
export const vm = (name: string, domid: number, extra: Obj = {}): Obj => ({ name, domid, ...extra });

/** A complete config repo as one multi-document YAML text (dom0 is added unless domid 0 is given). */
export function yamlOf(spec: Spec): string {
  const api = { apiVersion: 'pviommu/v1' };
  const domains = spec.domains ?? [];
  const docs: Obj[] = [
    { ...api, kind: 'Host', name: 'lab-1', ram: '16GiB', iommu: { dom0: 'strict' }, ...spec.host },
    ...(spec.devices ?? []).map((d) => ({ ...api, kind: 'Device', ...d })),
    ...(domains.some((d) => d.domid === 0) ? [] : [{ ...api, kind: 'Domain', name: 'dom0', domid: 0, type: 'pv', role: 'hardware', memory: '2GiB' }]),
    ...domains.map((d) => ({ ...api, kind: 'Domain', type: 'hvm', memory: '1GiB', ...d })),
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

export interface Run {
  text: string;
  findings: Finding[];
  /** The source text at a finding's anchor (from its column to the end of the line). */
  at(f: Finding): string;
  /** The source text at a related position. */
  relAt(f: Finding, i?: number): string;
}

export function runSpec(rule: Rule, spec: Spec | string): Run {
  const text = typeof spec === 'string' ? spec : yamlOf(spec);
  const findings = ruleFindings(rule, text);
  const lines = text.split('\n');
  const slice = (line: number, col: number) => (lines[line - 1] ?? '').slice(col - 1);
  return {
    text,
    findings,
    at: (f) => slice(f.line, f.column),
    relAt: (f, i = 0) => slice(f.related![i]!.line, f.related![i]!.column),
  };
}

// ---------------------------------------------------------------------------------------------

export interface Case {
  name: string;
  spec: Spec;
  /** Expected anchors: the source text each finding points at starts with this (in order). */
  want: string[];
  /** Substrings the first finding's message must contain. */
  says?: string[];
  /** Substrings the first finding's message must not contain. */
  saysNot?: string[];
  /** Substring the first finding's first related position must start with. */
  related?: string;
}

export function table(rule: Rule, cases: Case[]): void {
  describe(rule.id, () => {
    it.each(cases)('$name', (c) => {
      const r = runSpec(rule, c.spec);
      expect(r.findings.map((f) => r.at(f).slice(0, c.want[r.findings.indexOf(f)]?.length ?? 20))).toEqual(c.want);
      for (const s of c.says ?? []) expect(r.findings[0]!.message).toContain(s);
      for (const s of c.saysNot ?? []) expect(r.findings[0]!.message).not.toContain(s);
      if (c.related !== undefined) expect(r.relAt(r.findings[0]!)).toMatch(new RegExp('^' + c.related));
      for (const f of r.findings) {
        expect(f.rule).toBe(rule.id);
        expect(f.severity).toBe(rule.severity);
        expect(f.host).toBe('lab-1');
        expect(f.subject?.kind).toMatch(/^(Domain|Device)$/);
      }
    });
  });
}
