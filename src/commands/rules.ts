/** `pviommu rules` and `pviommu explain RULE`. */
import { Command, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { RULES, getRule, docsPath } from '../policy/registry.js';
import { readPackageFile } from './io.js';
import { UsageError, ToolError } from '../errors.js';
import { closest } from '../util/suggest.js';
import { examples } from './options.js';

export function registerRules(program: Command, env: CommandEnv): void {
  program
    .command('rules')
    .summary('list every rule with its id, default severity and description')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', examples('pviommu rules', "pviommu rules --format json | jq -r '.rules[] | select(.severity == \"error\") | .id'"))
    .action((o: { format: 'text' | 'json' }) => {
      if (o.format === 'json') {
        const list = RULES.map((r) => ({ id: r.id, severity: r.severity, phase: r.phase, description: r.description, docs: docsPath(r.id) }));
        env.io.stdout.write(JSON.stringify({ version: 1, rules: list }, null, 2) + '\n');
        return;
      }
      const w = Math.max(...RULES.map((r) => r.id.length));
      const lines = RULES.map((r) => `${r.id.padEnd(w)}  ${r.severity.padEnd(7)}  ${r.phase.padEnd(7)}  ${r.description}`);
      env.io.stdout.write(`${'RULE'.padEnd(w)}  SEVERITY PHASE    DESCRIPTION\n${lines.join('\n')}\n\n${RULES.length} rules. \`pviommu explain RULE\` prints one rule's documentation.\n`);
    });
}

export function registerExplain(program: Command, env: CommandEnv): void {
  program
    .command('explain')
    .summary("print one rule's documentation")
    .argument('<rule>', 'rule id, e.g. dma/isolation')
    .addHelpText('after', examples('pviommu explain dma/isolation', 'pviommu explain pci/multiple-owners | less'))
    .action((id: string) => {
      const rule = getRule(id);
      if (!rule) {
        const hint = closest(id, RULES.map((r) => r.id));
        throw new UsageError(`unknown rule \`${id}\`${hint ? ` — did you mean \`${hint}\`?` : ''} (see \`pviommu rules\`)`);
      }
      const text = readPackageFile(docsPath(id));
      if (text === undefined) throw new ToolError(`documentation of ${id} is missing (${docsPath(id)})`);
      env.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
    });
}
