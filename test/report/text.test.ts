import { describe, expect, it } from 'vitest';
import { formatCheck } from '../../src/report/index.js';
import { FINDINGS, options, report } from './fixture.js';

const GOLDEN = [
  'domains/vm2.yaml',
  '   4:11  error    memory: expected a size, got "lots"                      schema/invalid',
  '   9:7   error    device igd (0000:00:02.0) is assigned to vm1 and vm2     pci/multiple-owners',
  '    ↳ domains/vm1.yaml:11:7 also assigned here',
  '  12:13  warning  value 100% of "on", <&\'> is read as a boolean: quote it  yaml/ambiguous-scalar',
  '                  second line',
  '',
  'hosts/lab-1.yaml',
  '  3:5  info  dom0 maps all of host RAM 1:1  iommu/identity-map',
  '',
  '✖ 4 problems (2 errors, 1 warning, 1 info) in 3 files, 5 documents (1 skipped, 2 suppressed)',
  '',
].join('\n');

describe('text reporter', () => {
  it('groups by file, aligns columns, shows related positions and a summary', () => {
    expect(formatCheck(report(), 'text', options())).toBe(GOLDEN);
  });

  it('contains no ANSI escape when colour is off', () => {
    expect(formatCheck(report(), 'text', options())).not.toContain('\x1b');
  });

  it('colours severities and dims rule ids when colour is on', () => {
    const out = formatCheck(report(), 'text', options({ color: true }));
    expect(out).toContain('\x1b[31merror');
    expect(out).toContain('\x1b[33mwarning');
    expect(out).toContain('\x1b[34minfo');
    expect(out).toContain('\x1b[2mpci/multiple-owners\x1b[22m');
    expect(out).toContain('\x1b[4mdomains/vm2.yaml\x1b[24m');
    // Stripping the codes gives back the plain layout.
    expect(out.replace(/\x1b\[\d+m/g, '')).toBe(GOLDEN);
  });

  it('prints only the summary when there is nothing to report', () => {
    const r = report([]);
    r.summary.suppressed = 0;
    r.summary.skipped = 0;
    expect(formatCheck(r, 'text', options())).toBe('✔ no problems in 3 files, 5 documents\n');
  });

  it('uses singular nouns and mentions suppressed findings', () => {
    const r = report([FINDINGS[0]!]);
    r.summary = { ...r.summary, files: 1, documents: 1, skipped: 0, suppressed: 1 };
    expect(formatCheck(r, 'text', options()).split('\n').at(-2)).toBe(
      '✖ 1 problem (0 errors, 0 warnings, 1 info) in 1 file, 1 document (1 suppressed)',
    );
  });

  it('words the summary for --quiet', () => {
    const r = report(FINDINGS.filter((f) => f.severity === 'error'));
    r.summary = { ...r.summary, warnings: 1, infos: 1, skipped: 0, suppressed: 0 };
    expect(formatCheck(r, 'text', options({ quiet: true })).split('\n').at(-2)).toBe(
      '✖ 2 errors in 3 files, 5 documents (1 warning and 1 info hidden by --quiet)',
    );
    const clean = report([]);
    clean.summary = { ...clean.summary, warnings: 2, skipped: 0, suppressed: 0 };
    expect(formatCheck(clean, 'text', options({ quiet: true }))).toBe(
      '✔ no errors in 3 files, 5 documents (2 warnings hidden by --quiet)\n',
    );
  });

  it('shows control characters from the input as escapes, never raw', () => {
    const evil = { ...FINDINGS[0]!, file: 'x\x1b[2J.yaml', message: 'name "\x1b]0;pwned\x07" \u202eevil' };
    const out = formatCheck(report([evil]), 'text', options());
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\u202e');
    expect(out).toContain('x\\x1b[2J.yaml');
    expect(out).toContain('name "\\x1b]0;pwned\\x07" \\u202eevil');
  });
});
