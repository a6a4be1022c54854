/**
 * `pviommu check` as a library: paths → findings. No process access, no formatting.
 *
 * files ─► load (positions) ─► validate (schema, refs) ─► build machine per host ─► static rules
 *       ─► scenarios (emulator) ─► severity overrides ─► suppressions ─► sorted report
 */
import { loadPaths, type Suppression } from './config/load.js';
import { findProjectConfig, type ProjectConfig } from './config/project.js';
import { attributeHosts, documentHost, ofAnotherHost, validateDocs, type Config, type HostConfig } from './config/validate.js';
import { buildMachine } from './model/build.js';
import type { Machine } from './model/types.js';
import { getRule, staticRules } from './policy/registry.js';
import { toFinding, type ReportArgs } from './policy/rule.js';
import type { Finding, SeverityOrOff } from './policy/types.js';
import { runScenario } from './hypercalls/index.js';
import { sortFindings, summarize } from './report/index.js';
import type { CheckReport } from './report/types.js';
import { UsageError, ToolError } from './errors.js';
import { VERSION } from './version.js';
import { closest } from './util/suggest.js';
import { loadXlFiles, XL_EXT } from './xl/load.js';

export interface CheckOptions {
  cwd?: string;
  /** Stdin when a path is `-`: its bytes (checked like a file's), or text. */
  stdinText?: string | Uint8Array;
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
  /** The `.pviommu.yaml` that applied, if any (never a valid `--output`). */
  projectFile?: string;
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

export type RepoOptions = Pick<CheckOptions, 'cwd' | 'stdinText' | 'configFile' | 'xl' | 'xlHost' | 'followSymlinks' | 'onProgress'> & {
  /**
   * Validate only this host's documents (and every Host): for commands that work on one host of
   * a fleet. The findings of other hosts' documents are then not looked for.
   */
  onlyHost?: string;
};

/**
 * Load and validate a config repo (the first half of every command that reads configs).
 * Throws ToolError when nothing was found to check.
 */
export async function loadRepo(paths: string[], opts: RepoOptions = {}): Promise<LoadedRepo> {
  const cwd = opts.cwd ?? process.cwd();
  const project = await findProjectConfig(paths, cwd, opts.configFile);
  // every command that reads a repo honours its rules: an unknown id there is bad usage
  checkRuleIds(project.rules, project.file ?? '.pviommu.yaml');
  const roots = paths.length ? paths : ['.'];
  const onlyHost = opts.onlyHost;
  const loaded = await loadPaths(roots, {
    cwd,
    ignore: project.ignore,
    ignoreBase: project.dir,
    stdinText: opts.stdinText,
    followSymlinks: opts.followSymlinks,
    maxFileBytes: project.limits.max_file_bytes,
    maxAliases: project.limits.max_aliases,
    explicit: (name) => !XL_EXT.test(name),
    // One host of a fleet: the other hosts' documents are let go as each file is parsed (the
    // validation below would skip them anyway), not held until the whole repo is read.
    ...(onlyHost !== undefined ? { keepDoc: (v: unknown) => !ofAnotherHost(v, onlyHost) } : {}),
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
  if (opts.xlHost !== undefined && xl.files.length > 0) {
    // `--host` names the host of the xl.cfg domains: a name no Host has is bad usage, not a
    // finding blamed on the xl files.
    const hosts: string[] = [];
    for (const d of loaded.docs) {
      const name = (d.value as { kind?: unknown } | null)?.kind === 'Host' ? documentHost(d.value) : undefined;
      if (name !== undefined) hosts.push(name);
    }
    if (!hosts.includes(opts.xlHost)) {
      const hint = closest(opts.xlHost, hosts);
      throw new UsageError(`--host ${JSON.stringify(opts.xlHost)}: no Host document has that name${hint ? ` — did you mean \`${hint}\`?` : ''} (hosts: ${hosts.join(', ') || 'none'})`);
    }
  }
  const files = [...loaded.files.map((f) => f.file), ...xl.files].sort(cmp);
  const inputFindings = [...loaded.findings, ...xl.findings];
  if (docs.length === 0 && loaded.dropped === 0 && !inputFindings.some((f) => f.severity === 'error')) {
    const where = roots.join(', ');
    const skipped = loaded.skipped ? ` (${loaded.skipped} YAML document${loaded.skipped === 1 ? '' : 's'} skipped: no \`apiVersion: pviommu/v1\`)` : '';
    throw new ToolError(`no pviommu document found in ${where}${skipped}; nothing was checked`);
  }
  // Documents counts every pviommu document read: also those that could not be loaded (a YAML
  // error, an unsupported apiVersion), whose findings the report shows.
  let read = 0;
  for (const f of loaded.files) read += f.pviommu;
  const unloaded = Math.max(0, read - loaded.docs.length - loaded.dropped);
  const { config, findings } = validateDocs(docs, onlyHost, loaded.dropped + unloaded);
  // Each finding of reading a document is its host's (a command on another host is not stopped by
  // it). It does not stop `check` building the host: the document was read (a duplicate key keeps
  // its first value, an xl option its xl reading); a document that could not be validated does.
  const all = attributeHosts([...inputFindings, ...findings], docs);
  return { config, findings: all, files, skipped: loaded.skipped, suppressions: [...loaded.suppressions, ...xl.suppressions], project };
}

export async function runCheck(paths: string[], opts: CheckOptions = {}): Promise<CheckOutcome> {
  checkRuleIds(opts.rules ?? {}, '--rule');
  const repo = await loadRepo(paths, opts);
  const { config, files, project } = repo;
  const findings: Finding[] = [...repo.findings];

  const statics = staticRules();
  const mine = shardFilter(config.hosts.map((h) => h.host.name), opts.shard);
  config.hosts.forEach((hc, i) => {
    opts.onProgress?.('hosts checked', i, config.hosts.length);
    if (hc.inputErrors || !mine(hc.host.name)) return;
    // The static rules only read the machine: the first scenario that runs on the host's own ABI
    // may start from it instead of a second build of the same host.
    const machine = buildMachine(hc);
    findings.push(...checkHost(hc, statics, machine));
    let unused: Machine | undefined = machine;
    for (const sc of hc.scenarios) {
      const r = runScenario(hc, sc, { unused });
      if ((sc.abi ?? hc.host.pv_iommu.abi) === hc.host.pv_iommu.abi) unused = undefined;
      findings.push(...r.findings);
    }
  });

  const overrides = { ...project.rules, ...(opts.rules ?? {}) };
  // Every shard computes the findings of its own hosts and every finding that belongs to no host,
  // so it can tell for each suppression whether it matched. It reports the host-less findings on
  // shard 1 only, and an unused suppression only on the shard that owns the host whose document
  // holds the suppressed line (shard 1 for lines outside any host's documents).
  // The input errors that left something unchecked — a document not read at all (yaml/syntax), or
  // a host whose model was not built — are not turned down or suppressed: a clean report would
  // then say that a config was checked when it was not. They stay errors, and say why.
  const kept = keptInputErrors(config, findings, overrides, repo.suppressions);
  const sup = applySuppressions(applyOverrides(kept.rest, overrides), repo.suppressions);
  sup.findings.push(...kept.fatal);
  for (const sp of kept.used) sup.used.add(sp);
  const owner = opts.shard ? suppressionOwners(config, repo.suppressions) : undefined;
  /** Whether this run reports what belongs to `host` (undefined, or a host the repo does not define: to no shard's host). */
  const known = new Set(config.hosts.map((h) => h.host.name));
  const ours = (host: string | undefined) => !opts.shard || (host === undefined || !known.has(host) ? opts.shard.index === 1 : mine(host));
  const final = {
    findings: [
      ...sup.findings.filter((f) => ours(f.host)),
      ...unusedSuppressionFindings(repo.suppressions.filter((sp) => !sup.used.has(sp) && ours(owner?.get(sp))), overrides),
    ],
    suppressed: sup.suppressedFindings.filter((f) => ours(f.host)).length,
  };
  // --quiet shows errors only; the summary still counts everything (the text report says how
  // many were hidden), so `--max-warnings` keeps working with it.
  const all = final.findings;
  // A failed expectation fails the run whatever its severity, unless turned off or suppressed:
  // what the report shows and the exit code then agree.
  const failedExpectations = countFailedExpectations(all);
  const reported = sortFindings(opts.quiet ? all.filter((f) => f.severity === 'error') : all);
  const report: CheckReport = {
    version: 1,
    tool: { name: 'pviommu', version: VERSION },
    summary: {
      files: files.length,
      documents: config.counts.documents,
      skipped: repo.skipped,
      hosts: config.counts.hosts,
      domains: config.counts.domains,
      devices: config.counts.devices,
      scenarios: config.counts.scenarios,
      ...summarize(all),
      suppressed: final.suppressed,
    },
    findings: reported,
  };
  return { report, files, failedExpectations, ...(project.file ? { projectFile: project.file } : {}) };
}

/** Which hosts a shard checks: hosts sorted by name, dealt round-robin. */
export function shardFilter(hosts: string[], shard?: { index: number; count: number }): (host: string) => boolean {
  if (!shard) return () => true;
  const sorted = [...new Set(hosts)].sort(cmp);
  const own = new Set(sorted.filter((_, i) => i % shard.count === shard.index - 1));
  return (h) => own.has(h);
}

/** Build one host's machine and run every static rule over it. */
export function checkHost(hc: HostConfig, rules = staticRules(), machine: Machine = buildMachine(hc)): Finding[] {
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

const NOT_TURNED_DOWN = ' (an input error that leaves config unchecked is not turned down or suppressed)';

/**
 * Split the findings into the input errors that left config unchecked (`fatal`) and the rest.
 * A fatal finding an override or a suppression comment aims at keeps its severity and says so;
 * such a comment counts as used (it is not also reported as unused).
 */
function keptInputErrors(config: Config, findings: Finding[], overrides: Record<string, SeverityOrOff>, suppressions: Suppression[]): { fatal: Finding[]; rest: Finding[]; used: Suppression[] } {
  const stopped = new Set(config.hosts.filter((h) => h.inputErrors).map((h) => h.host.name));
  const known = new Set(config.hosts.map((h) => h.host.name));
  const only = config.hosts.length === 1 ? config.hosts[0]!.host.name : undefined;
  const fatal: Finding[] = [];
  const rest: Finding[] = [];
  const used: Suppression[] = [];
  for (const f of findings) {
    const host = f.host ?? only;
    const unchecked = f.rule === 'yaml/syntax' || host === undefined || stopped.has(host) || !known.has(host);
    if (f.severity !== 'error' || getRule(f.rule)?.phase !== 'input' || !unchecked) {
      rest.push(f);
      continue;
    }
    const sp = suppressions.find((x) => x.file === f.file && x.targetLine === f.line && x.rules.includes(f.rule));
    if (sp) used.push(sp);
    const aimed = sp !== undefined || (overrides[f.rule] !== undefined && overrides[f.rule] !== 'error');
    fatal.push(aimed ? { ...f, message: f.message + NOT_TURNED_DOWN } : f);
  }
  return { fatal, rest, used };
}

/**
 * `# pviommu-disable-next-line RULE -- reason` removes the findings of RULE on the next line.
 * Returns the findings kept, those suppressed, and the suppressions that matched something.
 */
export function applySuppressions(
  findings: Finding[],
  suppressions: Suppression[],
): { findings: Finding[]; suppressedFindings: Finding[]; used: Set<Suppression> } {
  const used = new Set<Suppression>();
  if (!suppressions.length) return { findings, suppressedFindings: [], used };
  const byLine = new Map<string, Suppression[]>();
  for (const sp of suppressions) {
    const k = `${sp.file}\0${sp.targetLine}`;
    byLine.set(k, [...(byLine.get(k) ?? []), sp]);
  }
  const kept: Finding[] = [];
  const suppressedFindings: Finding[] = [];
  for (const f of findings) {
    const hit = byLine.get(`${f.file}\0${f.line}`)?.find((sp) => sp.rules.includes(f.rule));
    if (hit) {
      used.add(hit);
      suppressedFindings.push(f);
    } else kept.push(f);
  }
  return { findings: kept, suppressedFindings, used };
}

/** A suppression that removed nothing is itself reported (`suppression/unused`). */
export function unusedSuppressionFindings(unused: Suppression[], overrides: Record<string, SeverityOrOff>): Finding[] {
  const rule = getRule('suppression/unused')!;
  const sev = overrides[rule.id];
  if (sev === 'off') return [];
  return unused.map((sp) => {
    const unknown = sp.rules.filter((r) => !getRule(r));
    const message = unknown.length
      ? `suppression names unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `\`${r}\``).join(', ')} (see \`pviommu rules\`); it suppresses nothing`
      : `suppression of ${sp.rules.map((r) => `\`${r}\``).join(', ')} matched no finding on line ${sp.targetLine}; remove the comment`;
    return { rule: rule.id, severity: sev ?? rule.severity, message, file: sp.file, line: sp.line, column: sp.column, endLine: sp.line, endColumn: sp.column + 1 };
  });
}

/** The host whose document holds each suppression's target line (undefined: no host's). */
function suppressionOwners(config: Config, suppressions: Suppression[]): Map<Suppression, string | undefined> {
  const spans: { file: string; from: number; to: number; host: string }[] = [];
  for (const hc of config.hosts) {
    for (const d of [hc.host, ...hc.devices, ...hc.domains, ...hc.scenarios]) {
      const l = d.src.locate([]);
      spans.push({ file: l.file, from: l.line, to: l.endLine, host: hc.host.name });
    }
  }
  const out = new Map<Suppression, string | undefined>();
  for (const sp of suppressions) {
    const inFile = spans.filter((x) => x.file === sp.file);
    const hosts = new Set(inFile.map((x) => x.host));
    // a file of one host's documents (every xl.cfg file) belongs to that host as a whole
    out.set(sp, hosts.size === 1 ? inFile[0]!.host : inFile.find((x) => x.from <= sp.targetLine && sp.targetLine <= x.to)?.host);
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `scenario/expectation-failed` findings of a report: each fails the run (SPEC §6), whatever severity it was given. */
export function countFailedExpectations(findings: readonly Finding[]): number {
  let n = 0;
  for (const f of findings) if (f.rule === 'scenario/expectation-failed') n++;
  return n;
}
