/** `pviommu inspect` and `pviommu translate`: the built tables, and where one gfn lives. */
import { Command, Option, InvalidArgumentError } from 'commander';
import type { CommandEnv } from '../cli.js';
import { buildMachine } from '../model/build.js';
import { inspect, formatInspectText, translateGfn, formatTranslateText, type InspectWhat } from '../model/inspect.js';
import { UsageError } from '../errors.js';
import { emit, examples, frameArg, stdinFor } from './options.js';
import { loadHost } from './repo.js';

const WHAT: InspectWhat[] = ['p2m', 'iommu', 'pages'];

function whatArg(value: string, prev: InspectWhat[] = []): InspectWhat[] {
  const out = [...prev];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('expected p2m, iommu or pages (comma-separated), got nothing');
  for (const w of names) {
    if (!(WHAT as string[]).includes(w)) throw new InvalidArgumentError(`expected p2m, iommu or pages, got "${w}"`);
    out.push(w as InspectWhat);
  }
  return out;
}

export function registerInspect(program: Command, env: CommandEnv): void {
  program
    .command('inspect')
    .summary('print the built tables (p2m, IOMMU contexts, page ownership) as extents')
    .description(
      "Build one host's model and print its tables as extents: each domain's p2m (gfn → mfn, type), " +
        'every IOMMU context (dfn → mfn, permissions, whether entries hold page references), and the ' +
        'ownership and reference counts of machine frames — so you can see why a rule fired.',
    )
    .argument('[paths...]', 'files, directories, or - for stdin (default: .)')
    .option('--host <name>', 'the host (default: the only Host of the repo)')
    .option('--domain <name>', 'only this domain (name or domid)')
    .option('--what <tables>', 'p2m, iommu, pages (comma-separated or repeated; default all)', whatArg)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .addHelpText(
      'after',
      examples('pviommu inspect examples/lab', 'pviommu inspect examples/lab --what iommu --domain dom0', 'pviommu inspect examples/lab --what p2m,pages --domain vm1 --format json'),
    )
    .action(async (paths: string[], o: { host?: string; domain?: string; what?: InspectWhat[]; format: 'text' | 'json'; output?: string }) => {
      const io = env.io;
      const loaded = await loadHost(paths, o.host, io, { stdinText: await stdinFor(paths, io) });
      if (!loaded) return env.exit(1);
      const data = inspect(buildMachine(loaded.hc), { domain: o.domain, what: o.what });
      if ('error' in data) throw new UsageError(data.error);
      await emit(io, o.format === 'json' ? JSON.stringify(data, null, 2) + '\n' : formatInspectText(data), o.output, [...paths, ...loaded.files]);
      env.exit(0);
    });
}

export function registerTranslate(program: Command, env: CommandEnv): void {
  program
    .command('translate')
    .summary('where does this gfn live, and which BFNs reach it')
    .description(
      "Look up a domain's gfn (a PV domain's pfn) in the built model: the mfn behind it, its p2m type, " +
        "the frame's owner and reference count, and every (IOMMU context, BFN) whose DMA reaches it.",
    )
    .argument('[paths...]', 'files, directories, or - for stdin (default: .)')
    .option('--host <name>', 'the host (default: the only Host of the repo)')
    .requiredOption('--domain <name>', 'the domain (name or domid)')
    .requiredOption('--gfn <n>', 'the guest frame number (decimal or 0x hex)', frameArg)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .addHelpText('after', examples('pviommu translate examples/lab --domain vm1 --gfn 0x100', 'pviommu translate examples/lab --domain 1 --gfn 256 --format json'))
    .action(async (paths: string[], o: { host?: string; domain: string; gfn: number; format: 'text' | 'json'; output?: string }) => {
      const io = env.io;
      const loaded = await loadHost(paths, o.host, io, { stdinText: await stdinFor(paths, io) });
      if (!loaded) return env.exit(1);
      const data = translateGfn(buildMachine(loaded.hc), o.domain, o.gfn);
      if ('error' in data) throw new UsageError(data.error);
      await emit(io, o.format === 'json' ? JSON.stringify(data, null, 2) + '\n' : formatTranslateText(data), o.output, [...paths, ...loaded.files]);
      env.exit(0);
    });
}
