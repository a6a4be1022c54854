/**
 * What `check` hands to a reporter. Reporters only format: no I/O, no process access.
 */
import type { Finding, RuleMeta } from '../policy/types.js';

export interface CheckSummary {
  files: number;
  documents: number;
  skipped: number;
  hosts: number;
  domains: number;
  devices: number;
  scenarios: number;
  errors: number;
  warnings: number;
  infos: number;
  suppressed: number;
}

/** Exactly the JSON document of SPEC §6.1 (`pviommu check --format json`). */
export interface CheckReport {
  version: 1;
  tool: { name: 'pviommu'; version: string };
  summary: CheckSummary;
  /** Sorted by file, line, column, rule (then message). */
  findings: Finding[];
}

export type CheckFormat = 'text' | 'json' | 'sarif' | 'junit' | 'github';
export const CHECK_FORMATS: readonly CheckFormat[] = ['text', 'json', 'sarif', 'junit', 'github'];

export interface FormatOptions {
  /** ANSI colour (text only). The caller decides from TTY / NO_COLOR / FORCE_COLOR. */
  color: boolean;
  /** Every file that was checked (display paths), so JUnit can list passing files too. */
  files: string[];
  /** Metadata of every registered rule (SARIF `tool.driver.rules`). */
  rules: RuleMeta[];
  /** `--quiet`: text shows errors only. (Filtering is done before; this only affects wording.) */
  quiet?: boolean;
}
