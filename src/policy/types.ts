/**
 * Findings and rules: the currency every stage after loading trades in.
 *
 * A Finding is data, never an exception. Positions are 1-based lines and columns; `endColumn`
 * is exclusive (one past the last character), as ESLint and SARIF use them.
 */

export type Severity = 'error' | 'warning' | 'info';
export type SeverityOrOff = Severity | 'off';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

/** A span in a file. `file` is the display path (relative to the cwd, `/`-separated). */
export interface Location {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface Related {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type DocKind = 'Host' | 'Device' | 'Domain' | 'Scenario';

export interface Subject {
  kind: DocKind;
  name: string;
}

export interface Finding extends Location {
  rule: string;
  severity: Severity;
  message: string;
  host?: string;
  subject?: Subject;
  related?: Related[];
}

/** When a rule runs: while loading input, over the built model, or while emulating a scenario. */
export type RulePhase = 'input' | 'static' | 'dynamic';

/** Metadata every rule module exports (one file per rule under src/policy/rules/<group>/). */
export interface RuleMeta {
  /** Stable id `group/name` (SPEC §5). */
  id: string;
  /** Default severity. Rules with strict/relaxed variants report the variant's severity. */
  severity: Severity;
  /** One line: what the rule finds. */
  description: string;
  phase: RulePhase;
}
