/** `pviommu check [PATH...]` — lint a config repo: schema, static rules, and every Scenario. */
import { Command, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { runCheck } from '../check.js';
import { formatCheck } from '../report/index.js';
import { shouldColor } from '../report/color.js';
import { CHECK_FORMATS, type CheckFormat } from '../report/types.js';
import { RULES } from '../policy/registry.js';
import { collect, collectRule, emit, nonNegativeInt, shardArg, stdinFor } from './options.js';
import { progressReporter } from './progress.js';

export function registerCheck(program: Command, env: CommandEnv): void {
  program
    .command('check')
    .summary('lint a config repo: schema, static rules, and every Scenario in it')
    .description(
      'Lint a config repository: validate every pviommu document (YAML files with ' +
        '`apiVersion: pviommu/v1`, and xl.cfg domain configs), build each host\'s model, run the ' +
        'static policy rules and every Scenario, and report the findings.\n\n' +
        'PATH is a file, a directory (walked recursively; hidden entries and node_modules are ' +
        'skipped; `ignore:` globs from .pviommu.yaml apply) or `-` for stdin. Default: `.`.',
    )
    .argument('[paths...]', 'files, directories, or - for stdin (default: .)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(CHECK_FORMATS as string[]).default('text'))
    .option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout')
    .option('--max-warnings <n>', 'exit 1 when there are more than N warnings', nonNegativeInt)
    .option('-q, --quiet', 'report errors only')
    .option('--rule <id=severity>', 'override a rule\'s severity: off|info|warning|error (repeatable)', collectRule)
    .option('-c, --config <file>', 'use this .pviommu.yaml instead of searching for one')
    .option('--xl <path>', 'also read PATH as an xl.cfg domain config, whatever its name; a directory: every *.cfg under it (repeatable; *.cfg files in the checked paths are read anyway)', collect)
    .option('--host <name>', 'the host xl.cfg domains belong to (default: a `# pviommu: host=` comment, or the only Host)')
    .option('--shard <index/count>', 'check only this share of the hosts (e.g. 2/4), for a CI matrix; combine with `pviommu merge`', shardArg)
    .option('--follow-symlinks', 'follow symlinks that lead outside the walked tree')
    .option('--color', 'force colour in text output')
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      '\nFormats: text (people), json (SPEC §6.1, stable), sarif (GitHub code scanning), ' +
        'junit (CI test reports), github (workflow annotations).\n\n' +
        'Examples:\n' +
        '  pviommu check examples/lab\n' +
        '  pviommu check . --format sarif --output pviommu.sarif\n' +
        '  pviommu check . --rule dom0/relaxed-iommu=off --max-warnings 0\n' +
        '  cat host.yaml | pviommu check -',
    )
    .action(async (paths: string[], o: CheckOpts) => {
      const io = env.io;
      const stdinText = await stdinFor(paths, io);
      const progress = o.output === undefined && o.format !== 'text' ? undefined : progressReporter(io, Boolean(o.quiet));
      const outcome = await runCheck(paths, {
        cwd: io.cwd,
        stdinText,
        rules: o.rule,
        configFile: o.config,
        quiet: o.quiet,
        xl: o.xl,
        xlHost: o.host,
        followSymlinks: o.followSymlinks,
        shard: o.shard,
        onProgress: progress?.update,
      });
      progress?.done();
      const color = o.color ?? shouldColor(io.stdout, io.env);
      const text = formatCheck(outcome.report, o.format, {
        color: o.format === 'text' && o.output === undefined && color,
        files: outcome.files,
        rules: [...RULES],
        quiet: o.quiet,
      });
      // every file read, not only the PATHs named: `check . -o host.yaml` must not replace host.yaml
      await emit(io, text, o.output, [...paths, ...outcome.files, ...(outcome.projectFile ? [outcome.projectFile] : [])]);
      env.exit(verdict(io, outcome.report.summary, outcome.failedExpectations, o.maxWarnings, o.format));
    });
}

interface CheckOpts {
  format: CheckFormat;
  output?: string;
  maxWarnings?: number;
  quiet?: boolean;
  rule?: Record<string, 'off' | 'info' | 'warning' | 'error'>;
  config?: string;
  xl?: string[];
  host?: string;
  followSymlinks?: boolean;
  shard?: { index: number; count: number };
  color?: boolean;
}

/**
 * The exit code of a `check` (or `merge`) report: 1 for an error, a failed expectation whatever
 * severity it was given, or warnings over `--max-warnings`. When no error shows why, a text
 * report says so on stderr.
 */
export function verdict(io: CommandEnv['io'], s: { errors: number; warnings: number }, failedExpectations: number, maxWarnings: number | undefined, format: CheckFormat): number {
  const tooManyWarnings = maxWarnings !== undefined && s.warnings > maxWarnings;
  if (s.errors === 0 && format === 'text') {
    if (failedExpectations > 0) {
      io.stderr.write(`pviommu: ${failedExpectations} failed expectation${failedExpectations === 1 ? '' : 's'} (scenario/expectation-failed) fail the run whatever their severity; turn the rule off to accept them\n`);
    }
    if (tooManyWarnings) io.stderr.write(`pviommu: ${s.warnings} warning${s.warnings === 1 ? ' exceeds' : 's exceed'} --max-warnings ${maxWarnings}\n`);
  }
  return s.errors > 0 || failedExpectations > 0 || tooManyWarnings ? 1 : 0;
}
