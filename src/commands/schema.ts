/** `pviommu schema [--kind KIND]` — JSON Schema of the config documents, for editors. */
import { Command, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { jsonSchema, KINDS, type Kind } from '../config/schema.js';
import { emit, examples } from './options.js';

export function registerSchema(program: Command, env: CommandEnv): void {
  program
    .command('schema')
    .summary('print the JSON Schema of the config documents (for editors)')
    .description(
      'Print the JSON Schema of pviommu config documents. Save it, and point yaml-language-server at it ' +
        'with a comment on the first line of each config file:\n' +
        '  pviommu schema > pviommu.schema.json\n' +
        '  # yaml-language-server: $schema=./pviommu.schema.json',
    )
    .addOption(new Option('-k, --kind <kind>', 'one document kind only').choices(KINDS))
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .addHelpText('after', examples('pviommu schema -o pviommu.schema.json', 'pviommu schema --kind Domain'))
    .action(async (o: { kind?: Kind; output?: string }) => {
      await emit(env.io, JSON.stringify(jsonSchema(o.kind), null, 2) + '\n', o.output, []);
    });
}
