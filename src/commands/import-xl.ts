/** `pviommu import-xl FILE.cfg [--host H]` — print the equivalent YAML Domain document. */
import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { xlToDomain } from '../xl/to-domain.js';
import { autoDomid, decodeXl } from '../xl/load.js';
import { validateDocs } from '../config/validate.js';
import { domainToYaml } from '../xl/yaml.js';
import { ioReason, ToolError } from '../errors.js';
import { emit, examples } from './options.js';
import { printFindings } from './repo.js';

/** `--domid N`: decimal or 0x hex (as domids are written everywhere else), 0..0x7fef (0x7ff0 and above are Xen's reserved ids). */
function domidArg(value: string): number {
  const s = value.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new InvalidArgumentError(`expected a domid (decimal or 0x hex), got "${value}"`);
  const n = Number(BigInt(s) > 0x7fffn ? 0x8000 : BigInt(s));
  if (n > 0x7fef) throw new InvalidArgumentError(`domid ${value} is out of range 0..32751 (0x7ff0 and above are Xen's reserved ids)`);
  return n;
}

export function registerImportXl(program: Command, env: CommandEnv): void {
  program
    .command('import-xl')
    .summary('convert an xl.cfg domain config to a Domain document')
    .description(
      'Read an xl.cfg domain config (xl.cfg(5), xl-pci-configuration(5)) and print the equivalent ' +
        'pviommu Domain document as YAML. Problems xl itself would reject are reported on stderr ' +
        '(exit 1); the YAML is printed anyway so nothing is lost.',
    )
    .argument('<file>', 'xl.cfg file')
    .option('--host <name>', 'the Host the domain runs on (default: `# pviommu: host=` in the file)')
    .option('--domid <n>', 'the domain id, decimal or 0x hex (default: `# pviommu: domid=` in the file; else 0 for the hardware domain, one derived from the name otherwise, as `check` does)', domidArg)
    .addOption(new Option('--role <role>', 'the domain\'s role (default: `# pviommu: role=` in the file, else guest)').choices(['hardware', 'control', 'driver', 'guest']))
    .option('-o, --output <file>', 'write the YAML to FILE instead of stdout')
    .addHelpText(
      'after',
      examples('pviommu import-xl fixtures/xl-repo/guests/web-vf.cfg', 'pviommu import-xl /etc/xen/guest.cfg --host lab-1 --domid 12 -o domains/guest.yaml'),
    )
    .action(async (file: string, o: { host?: string; domid?: number; role?: string; output?: string }) => {
      const io = env.io;
      const abs = resolve(io.cwd, file);
      let buf: Buffer;
      try {
        buf = await readFile(abs);
      } catch (e) {
        throw new ToolError(`cannot read ${file}: ${ioReason(e)}`);
      }
      const display = relative(io.cwd, abs).split(sep).join('/');
      const { text, notUtf8 } = decodeXl(display, buf);
      const d = xlToDomain(display, text, { host: o.host, domid: o.domid, role: o.role });
      // xl.cfg has no domid (Xen picks one at `xl create`); use the one `check` gives the .cfg.
      let note = '';
      if (d.value.domid === undefined) {
        d.value.domid = BigInt(autoDomid(String(d.value.name)));
        note = '# domid: xl.cfg does not set one; this one is derived from the name (as `pviommu check` does). Choose your own.\n';
      }
      // (control characters in the file name must not end the comment)
      const shown = display.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, '?');
      await emit(io, `# imported from ${shown} by pviommu import-xl\n${note}${domainToYaml(d.value)}`, o.output, [file]);
      // What `check` would say of the document printed: its schema findings (at their places in the
      // .cfg), so a Domain that check rejects is never handed over as if it were fine.
      const schema = validateDocs([{ source: d.source, value: d.value, origin: 'xl' }]).findings.filter((f) => f.rule === 'schema/invalid');
      const findings = [...(notUtf8 ? [notUtf8] : []), ...d.findings, ...schema];
      printFindings(io, findings, [display], 1);
      env.exit(findings.some((f) => f.severity === 'error') ? 1 : 0);
    });
}
