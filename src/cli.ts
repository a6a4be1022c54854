/**
 * The commander program: registers the commands and maps every failure to an exit code.
 *   0 clean · 1 findings (errors, warnings over --max-warnings, failed expectations) · 2 the tool failed
 */
import { Command, CommanderError } from 'commander';
import { ToolError } from './errors.js';
import { printable } from './report/text.js';
import { VERSION } from './version.js';
import { processIo, type Io } from './commands/io.js';
import { closest } from './util/suggest.js';
import { registerCheck } from './commands/check.js';
import { registerEmulate } from './commands/emulate.js';
import { registerTranslate, registerInspect } from './commands/inspect.js';
import { registerRules, registerExplain } from './commands/rules.js';
import { registerSchema } from './commands/schema.js';
import { registerImportXl } from './commands/import-xl.js';
import { registerMerge } from './commands/merge.js';

export interface CommandEnv {
  io: Io;
  /** Set by a command's action: the exit code it wants. */
  exit(code: number): void;
}

export function buildProgram(env: CommandEnv): Command {
  const program = new Command();
  program
    .name('pviommu')
    .description(
      'Hypercall emulator and PV-IOMMU policy checker for Xen: validates host, device, domain and ' +
        'scenario configs, builds the p2m / page / IOMMU tables Xen would hold, emulates the ' +
        'gfn→mfn and BFN-mapping hypercalls, and reports isolation and aliasing violations.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of internal errors')
    .helpOption('-h, --help', 'show help for a command (pviommu help COMMAND)')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes: 0 clean, 1 findings (errors, warnings over --max-warnings, failed expectations), ' +
        '2 the tool could not do its job (bad usage, missing path, no pviommu document, internal error).\n\n' +
        'Examples:\n' +
        '  pviommu check examples/lab                 lint a config repo\n' +
        '  pviommu check . --format sarif -o out.sarif for GitHub code scanning\n' +
        '  pviommu emulate examples/lab --scenario xengt-pv-iommu\n' +
        '  pviommu explain dma/isolation',
    );
  registerCheck(program, env);
  registerEmulate(program, env);
  registerTranslate(program, env);
  registerInspect(program, env);
  registerRules(program, env);
  registerExplain(program, env);
  registerSchema(program, env);
  registerImportXl(program, env);
  registerMerge(program, env);
  return program;
}

/** Run the CLI. Never throws; returns the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const debug = argv.includes('--debug');
  let code = 0;
  const env: CommandEnv = { io, exit: (c) => void (code = c) };
  const program = buildProgram(env);
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: (s, write) => write(s.startsWith('error:') ? `pviommu: ${s}` : s),
  });
  for (const c of program.commands) {
    c.exitOverride();
    c.configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `pviommu ${c.name()}: ${s}` : s),
    });
  }
  // An unknown command (`pviommu bogus --help`, `pviommu help bogus`) is bad usage before any help
  // is shown: commander would print the program's help, and exit 0 for the first.
  const words = argv.slice(2).filter((a) => a !== '--debug');
  const first = words.find((a) => !a.startsWith('-'));
  const asked = first === 'help' ? words[words.indexOf('help') + 1] : first;
  const names = program.commands.map((c) => c.name());
  if (asked !== undefined && !asked.startsWith('-') && asked !== 'help' && !names.includes(asked)) {
    const hint = closest(asked, names);
    io.stderr.write(printable(`pviommu: error: unknown command '${asked}'${hint ? ` — did you mean \`${hint}\`?` : ''} (commands: ${names.join(', ')})`) + '\n');
    return 2;
  }
  try {
    await program.parseAsync(argv.filter((a) => a !== '--debug'), { from: 'node' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are successes; every other commander failure is bad usage → 2
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return e.exitCode === 0 || e.code !== 'commander.help' ? 0 : 2;
      }
      if (e.code === 'commander.executeSubCommandAsync') return 2;
      return 2;
    }
    if (e instanceof ToolError) {
      // messages can quote the input (a rule id from .pviommu.yaml, a path): no terminal controls
      io.stderr.write(`pviommu: error: ${printable(e.message).replace(/\n/g, '\\n')}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    io.stderr.write(
      `pviommu: internal error: ${printable(String(err?.message ?? e).split('\n')[0]!)}${debug ? '' : ' (re-run with --debug for details)'}\n`,
    );
    if (debug && err?.stack) io.stderr.write(err.stack + '\n');
    return 2;
  }
}
