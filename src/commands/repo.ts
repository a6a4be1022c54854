/** Shared by the commands that work on one host's model: load the repo, pick the host. */
import type { Io } from './io.js';
import { loadRepo, type RepoOptions } from '../check.js';
import type { HostConfig } from '../config/validate.js';
import type { Suppression } from '../config/load.js';
import type { Finding, SeverityOrOff } from '../policy/types.js';
import { UsageError } from '../errors.js';
import { closest } from '../util/suggest.js';
import { checkReport, formatCheck } from '../report/index.js';
import { shouldColor } from '../report/color.js';
import { RULES } from '../policy/registry.js';
import { printable } from '../report/text.js';

/** A host picked from a loaded repo, with what the repo's loading found and its project settings. */
export interface LoadedHost {
  hc: HostConfig;
  findings: Finding[];
  files: string[];
  severities: Record<string, SeverityOrOff>;
  suppressions: Suppression[];
}

/**
 * The host named by `--host` (or the repo's only host). When the host's documents have input
 * errors, they are printed on stderr, `onInputErrors` is given the host (for a command that
 * reports them in its own output too), and `undefined` is returned (the caller exits 1).
 */
export async function loadHost(
  paths: string[],
  hostName: string | undefined,
  io: Io,
  opts: RepoOptions,
  onInputErrors?: (broken: LoadedHost) => Promise<void>,
): Promise<LoadedHost | undefined> {
  // (Named host: the other hosts' documents are read, for their place in the repo, not validated.)
  const repo = await loadRepo(paths, { ...opts, cwd: io.cwd, ...(hostName !== undefined ? { onlyHost: hostName } : {}) });
  const hosts = repo.config.hosts;
  let hc: HostConfig | undefined;
  if (hostName === undefined) {
    if (hosts.length !== 1) {
      throw new UsageError(
        hosts.length === 0 ? 'the repo defines no Host' : `the repo defines ${hosts.length} hosts; choose one with --host (${hosts.map((h) => h.host.name).join(', ')})`,
      );
    }
    hc = hosts[0];
  } else {
    hc = hosts.find((h) => h.host.name === hostName);
    if (!hc) {
      const hint = closest(hostName, hosts.map((h) => h.host.name));
      throw new UsageError(`no Host named ${JSON.stringify(hostName)}${hint ? ` — did you mean \`${hint}\`?` : ''} (hosts: ${hosts.map((h) => h.host.name).join(', ') || 'none'})`);
    }
  }
  const errors = repo.findings.filter((f) => f.severity === 'error' && (f.host === undefined || f.host === hc!.host.name));
  if (hc!.inputErrors || errors.length) {
    printFindings(io, errors, repo.files, repo.config.counts.documents);
    io.stderr.write(printable(`pviommu: host ${hc!.host.name} has input errors; fix them first (see above)`) + '\n');
    await onInputErrors?.(loaded(hc!));
    return undefined;
  }
  return loaded(hc!);

  function loaded(h: HostConfig): LoadedHost {
    return { hc: h, findings: repo.findings, files: repo.files, severities: repo.project.rules, suppressions: repo.suppressions };
  }
}

/** Findings as the text report, on stderr (for commands whose stdout carries something else). */
export function printFindings(io: Io, findings: Finding[], files: string[], documents = 0): void {
  if (!findings.length) return;
  io.stderr.write(formatCheck(checkReport(findings, { files: files.length, documents }), 'text', { color: shouldColor(io.stderr, io.env), files, rules: [...RULES] }));
}
