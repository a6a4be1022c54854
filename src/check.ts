/**
 * `pviommu check` as a library: paths → findings. No process access, no formatting.
 *
 * files ─► load (positions) ─► validate (schema, refs) ─► build machine per host ─► static rules
 *       ─► scenarios (emulator) ─► severity overrides ─► suppressions ─► sorted report
 */
import { loadPaths, type Suppression } from './config/load.js';
import { findProjectConfig, type ProjectConfig } from './config/project.js';
import { validateDocs, type Config, type HostConfig } from './config/validate.js';
import { buildMachine } from './model/build.js';
import { RULES, getRule, staticRules } from './policy/registry.js';
import { toFinding, type ReportArgs } from './policy/rule.js';
import type { Finding, SeverityOrOff } from './policy/types.js';
import { runScenario } from './hypercalls/index.js';
import { sortFindings } from './report/index.js';
import type { CheckReport } from './report/types.js';
import { UsageError, ToolError } from './errors.js';
import { VERSION } from './version.js';
import { loadXlFiles, XL_EXT } from './xl/load.js';

export interface CheckOptions {
  cwd?: string;
  /** Text of stdin when a path is `-`. */
  stdinText?: string;
  /** `--rule ID=SEVERITY` overrides (win over `.pviommu.yaml`). */
  rules?: Record<string, SeverityOrOff>;
  /** `--config FILE` */
  configFile?: string;
  /** `--quiet`: report errors only. */
  quiet?: boolean;
  /** Extra files to read as xl.cfg domain configs (`--xl`), and the host they belong to. */
  xl?: string[];
  xlHost?: string;
  followSymlinks?: boolean;
  /**
   * `--shard INDEX/COUNT` (1-based): check only every COUNT-th host (by name), and report the
   * findings that belong to no host on shard 1 only — so the shards' findings partition the
   * unsharded run's and `pviommu merge` can put them back together.
   */
  shard?: { index: number; count: number };
  /** Progress callback (files parsed, hosts checked). */
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface CheckOutcome {
  report: CheckReport;
  /** Every file that was read (display paths), for JUnit. */
  files: string[];
  failedExpectations: number;
}

/** Validate `ID=SEVERITY` overrides against the registry (unknown ids are bad usage). */
export function checkRuleIds(rules: Record<string, SeverityOrOff>, where: string): void {
  for (const id of Object.keys(rules)) {
    if (!getRule(id)) throw new UsageError(`${where}: unknown rule id \`${id}\` (see \`pviommu rules\`)`);
  }
}

export interface LoadedRepo {
  config: Config;
  /** Input findings: yaml/*, xl/*, schema/*, ref/* (before overrides and suppressions). */
  findings: Finding[];
  files: string[];
  skipped: number;
  suppressions: Suppression[];
  project: ProjectConfig;
}

export type RepoOptions = Pick<CheckOptions, 'cwd' | 'stdinText' | 'configFile' | 'xl' | 'xlHost' | 'followSymlinks' | 'onProgress'>;

/**
 * Load and validate a config repo (the first half of every command that reads configs).
 * Throws ToolError when nothing was found to check.
 */
export async function loadRepo(paths: string[], opts: RepoOptions = {}): Promise<LoadedRepo> {
  const cwd = opts.cwd ?? process.cwd();
  const project = await findProjectConfig(paths, cwd, opts.configFile);
  const roots = paths.length ? paths : ['.'];
  const loaded = await loadPaths(roots, {
    cwd,
    ignore: project.ignore,
    ignoreBase: project.dir,
    stdinText: opts.stdinText,
    followSymlinks: opts.followSymlinks,
    maxFileBytes: project.limits.max_file_bytes,
    maxAliases: project.limits.max_aliases,
    explicit: (name) => !XL_EXT.test(name),
    ...(opts.onProgress ? { onProgress: (done: number, total: number) => opts.onProgress!('files parsed', done, total) } : {}),
  });
  const xl = await loadXlFiles(roots, opts.xl ?? [], {
    cwd,
    ignore: project.ignore,
    ignoreBase: project.dir,
    host: opts.xlHost,
    followSymlinks: opts.followSymlinks,
  });
  const docs = [...loaded.docs, ...xl.docs];
  const files = [...loaded.files.map((f) => f.file), ...xl.files].sort(cmp);
  const inputFindings = [...loaded.findings, ...xl.findings];
  if (docs.length === 0 && !inputFindings.some((f) => f.severity === 'error')) {
    const where = roots.join(', ');
    const skipped = loaded.skipped ? ` (${loaded.skipped} YAML document${loaded.skipped === 1 ? '' : 's'} skipped: no \`apiVersion: pviommu/v1\`)` : '';
    throw new ToolError(`no pviommu document found in ${where}${skipped}; nothing was checked`);
  }
  const { config, findings } = validateDocs(docs);
  return { config, findings: [...inputFindings, ...findings], files, skipped: loaded.skipped, suppressions: [...loaded.suppressions, ...xl.suppressions], project };
}

export async function runCheck(paths: string[], opts: CheckOptions = {}): Promise<CheckOutcome> {
  checkRuleIds(opts.rules ?? {}, '--rule');
  const repo = await loadRepo(paths, opts);
  const { config, files, project } = repo;
  checkRuleIds(project.rules, project.file ?? '.pviommu.yaml');
  const findings: Finding[] = [...repo.findings];
  const loaded = { skipped: repo.skipped, suppressions: repo.suppressions };
  let failedExpectations = 0;

  const statics = staticRules();
  const mine = shardFilter(config.hosts.map((h) => h.host.name), opts.shard);
  config.hosts.forEach((hc, i) => {
    opts.onProgress?.('hosts checked', i, config.hosts.length);
    if (hc.inputErrors || !mine(hc.host.name)) return;
    findings.push(...checkHost(hc, statics));
    for (const sc of hc.scenarios) {
      const r = runScenario(hc, sc);
      findings.push(...r.findings);
      failedExpectations += r.summary.failed_expectations;
    }
  });

  const overrides = { ...project.rules, ...(opts.rules ?? {}) };
  const ours = opts.shard ? findings.filter((f) => (f.host === undefined ? opts.shard!.index === 1 : mine(f.host))) : findings;
  const suppressions = opts.shard && opts.shard.index !== 1 ? [] : loaded.suppressions;
  const final = applySuppressions(applyOverrides(ours, overrides), suppressions, overrides);
  // --quiet shows errors only; the summary still counts everything (the text report says how
  // many were hidden), so `--max-warnings` keeps working with it.
  const all = final.findings;
  const reported = sortFindings(opts.quiet ? all.filter((f) => f.severity === 'error') : all);
  const count = (s: string) => all.filter((f) => f.severity === s).length;
  const report: CheckReport = {
    version: 1,
    tool: { name: 'pviommu', version: VERSION },
    summary: {
      files: files.length,
      documents: config.counts.documents,
      skipped: loaded.skipped,
      hosts: config.counts.hosts,
      domains: config.counts.domains,
      devices: config.counts.devices,
      scenarios: config.counts.scenarios,
      errors: count('error'),
      warnings: count('warning'),
      infos: count('info'),
      suppressed: final.suppressed,
    },
    findings: reported,
  };
  return { report, files, failedExpectations };
}

/** Which hosts a shard checks: hosts sorted by name, dealt round-robin. */
export function shardFilter(hosts: string[], shard?: { index: number; count: number }): (host: string) => boolean {
  if (!shard) return () => true;
  const sorted = [...new Set(hosts)].sort(cmp);
  const own = new Set(sorted.filter((_, i) => i % shard.count === shard.index - 1));
  return (h) => own.has(h);
}

/** Build one host's machine and run every static rule over it. */
export function checkHost(hc: HostConfig, rules = staticRules()): Finding[] {
  const machine = buildMachine(hc);
  const out: Finding[] = [];
  for (const rule of rules) {
    const ctx = {
      hc,
      machine,
      report: (args: ReportArgs) => out.push(toFinding(rule, args, hc.host.name)),
    };
    rule.check(ctx);
  }
  return out;
}

/** `off` drops a rule's findings; a severity replaces the one the rule reported. */
export function applyOverrides(findings: Finding[], overrides: Record<string, SeverityOrOff>): Finding[] {
  if (!Object.keys(overrides).length) return findings;
  const out: Finding[] = [];
  for (const f of findings) {
    const o = overrides[f.rule];
    if (o === 'off') continue;
    out.push(o ? { ...f, severity: o } : f);
  }
  return out;
}

/**
 * `# pviommu-disable-next-line RULE -- reason` removes the findings of RULE on the next line.
 * A suppression that removed nothing is itself reported (`suppression/unused`).
 */
export function applySuppressions(
  findings: Finding[],
  suppressions: Suppression[],
  overrides: Record<string, SeverityOrOff>,
): { findings: Finding[]; suppressed: number } {
  if (!suppressions.length) return { findings, suppressed: 0 };
  const byLine = new Map<string, Suppression[]>();
  for (const s of suppressions) {
    const k = `${s.file}\0${s.targetLine}`;
    byLine.set(k, [...(byLine.get(k) ?? []), s]);
  }
  const used = new Set<Suppression>();
  const kept: Finding[] = [];
  let suppressed = 0;
  for (const f of findings) {
    const hit = byLine.get(`${f.file}\0${f.line}`)?.find((s) => s.rules.includes(f.rule));
    if (hit) {
      used.add(hit);
      suppressed++;
    } else kept.push(f);
  }
  const unusedRule = RULES.find((r) => r.id === 'suppression/unused')!;
  const sev = overrides[unusedRule.id];
  if (sev !== 'off') {
    for (const s of suppressions) {
      if (used.has(s)) continue;
      const unknown = s.rules.filter((r) => !getRule(r));
      const message = unknown.length
        ? `suppression names unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `\`${r}\``).join(', ')} (see \`pviommu rules\`); it suppresses nothing`
        : `suppression of ${s.rules.map((r) => `\`${r}\``).join(', ')} matched no finding on line ${s.targetLine}; remove the comment`;
      kept.push({
        rule: unusedRule.id,
        severity: sev ?? unusedRule.severity,
        message,
        file: s.file,
        line: s.line,
        column: s.column,
        endLine: s.line,
        endColumn: s.column + 1,
      });
    }
  }
  return { findings: kept, suppressed };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
