/**
 * The Rule type. One file per rule under src/policy/rules/<group>/<name>.ts exports
 * `default defineRule({...})`; each group has an index.ts listing its rules; registry.ts
 * gathers the groups. Documentation lives in docs/rules/<group>/<name>.md.
 */
import type { Finding, Related, RuleMeta, Severity, Subject } from './types.js';
import type { DocSource, NodePart, PathSeg } from '../config/source.js';
import type { HostConfig } from '../config/validate.js';
import type { Machine } from '../model/types.js';

/** A node of a document: the thing a finding is about. */
export interface NodeRef {
  src: DocSource;
  path: readonly PathSeg[];
  part?: NodePart;
}

export interface ReportArgs {
  at: NodeRef;
  message: string;
  /** Overrides the rule's default severity (strict/relaxed variants). */
  severity?: Severity;
  subject?: Subject;
  related?: { at: NodeRef; message: string }[];
}

/** What a static rule sees: one host's validated config and its built model. */
export interface StaticContext {
  hc: HostConfig;
  machine: Machine;
  report(args: ReportArgs): void;
}

export interface InputRule extends RuleMeta {
  phase: 'input';
}
export interface StaticRule extends RuleMeta {
  phase: 'static';
  check(ctx: StaticContext): void;
}
export interface DynamicRule extends RuleMeta {
  phase: 'dynamic';
}
export type Rule = InputRule | StaticRule | DynamicRule;

export function defineRule<R extends Rule>(rule: R): R {
  return rule;
}

/** Turn a ReportArgs into a Finding (positions resolved through the document source). */
export function toFinding(rule: RuleMeta, args: ReportArgs, host?: string): Finding {
  const loc = args.at.src.locate(args.at.path, args.at.part ?? 'value');
  const f: Finding = { rule: rule.id, severity: args.severity ?? rule.severity, message: args.message, ...loc };
  if (host !== undefined) f.host = host;
  if (args.subject) f.subject = args.subject;
  if (args.related?.length) {
    f.related = args.related.map((r): Related => {
      const l = r.at.src.locate(r.at.path, r.at.part ?? 'value');
      return { file: l.file, line: l.line, column: l.column, message: r.message };
    });
  }
  return f;
}
