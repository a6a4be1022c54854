/**
 * `pviommu merge FILE.json...` — combine the JSON reports of `check --shard I/N` runs (or of
 * several repos) into one report, in any format (e.g. one SARIF upload for a CI matrix).
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { ioReason, ToolError } from '../errors.js';
import { formatCheck } from '../report/index.js';
import { CHECK_FORMATS, type CheckFormat, type CheckReport } from '../report/types.js';
import { mergeReports } from '../report/merge.js';
import { RULES } from '../policy/registry.js';
import { shouldColor } from '../report/color.js';
import { emit, examples, nonNegativeInt } from './options.js';
import { verdict } from './check.js';
import { z } from 'zod';

const position = z.number().int().min(1);
const count = z.number().int().min(0).optional();
/** The parts of a JSON report (SPEC §6.1) that merge reads and the formats print. */
const ReportShape = z.object({
  summary: z.object({ files: count, documents: count, skipped: count, hosts: count, domains: count, devices: count, scenarios: count, errors: count, warnings: count, infos: count, suppressed: count }),
  findings: z.array(
    z.object({
      rule: z.string().min(1),
      severity: z.enum(['error', 'warning', 'info']),
      message: z.string(),
      file: z.string(),
      line: position,
      column: position,
      endLine: position.optional(),
      endColumn: position.optional(),
      host: z.string().optional(),
      subject: z.object({ kind: z.string(), name: z.string() }).optional(),
      related: z.array(z.object({ file: z.string(), line: position, column: position, message: z.string() })).optional(),
    }),
  ),
});
import { countFailedExpectations } from '../check.js';

export function registerMerge(program: Command, env: CommandEnv): void {
  program
    .command('merge')
    .summary('combine JSON reports (e.g. of --shard runs) into one report')
    .description(
      'Combine JSON reports written by `pviommu check --format json` — typically one per CI shard ' +
        '(`--shard 1/4` … `--shard 4/4`) — into one report in any format. Findings are merged and ' +
        're-sorted; exit codes follow `check` (1 when the merged report has errors or failed expectations, or more warnings than --max-warnings). ' +
        'A JSON report does not name the files that passed, so `--format junit` lists only the files with findings.',
    )
    .argument('<files...>', 'JSON reports')
    .addOption(new Option('-f, --format <format>', 'output format').choices(CHECK_FORMATS as string[]).default('json'))
    .option('-o, --output <file>', 'write the merged report to FILE instead of stdout')
    .option('--max-warnings <n>', 'exit 1 when there are more than N warnings', nonNegativeInt)
    .addHelpText(
      'after',
      examples(
        'pviommu check fleet --shard 1/2 --format json -o shard-1.json    # one CI job per shard',
        'pviommu check fleet --shard 2/2 --format json -o shard-2.json',
        'pviommu merge shard-*.json --format sarif -o pviommu.sarif',
      ),
    )
    .action(async (files: string[], o: { format: CheckFormat; output?: string; maxWarnings?: number }) => {
      const io = env.io;
      const reports: CheckReport[] = [];
      for (const f of files) {
        let text: string;
        try {
          text = await readFile(f === '-' ? '/dev/stdin' : f, 'utf8');
        } catch (e) {
          throw new ToolError(`cannot read ${f}: ${ioReason(e)}`);
        }
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch (e) {
          throw new ToolError(`${f} is not JSON: ${(e as Error).message.split('\n')[0]}`);
        }
        const r = v as CheckReport;
        if (!r || r.version !== 1 || !Array.isArray(r.findings) || r.summary === null || typeof r.summary !== 'object') {
          throw new ToolError(`${f} is not a pviommu JSON report (expected {"version": 1, "summary": …, "findings": […]})`);
        }
        // every finding as check writes it: what is merged is printed in every format, and a
        // finding without a place or with an unknown severity must not pass as clean
        const bad = ReportShape.safeParse(r);
        if (!bad.success) {
          const i = bad.error.issues[0]!;
          throw new ToolError(`${f} is not a pviommu JSON report: ${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')}: ${i.message}`);
        }
        reports.push(r);
      }
      const { report, files: checked } = mergeReports(reports);
      const text = formatCheck(report, o.format, {
        color: o.format === 'text' && o.output === undefined && shouldColor(io.stdout, io.env),
        files: checked,
        rules: [...RULES],
      });
      await emit(io, text, o.output, files);
      env.exit(verdict(io, report.summary, countFailedExpectations(report.findings), o.maxWarnings, o.format));
    });
}
