import { describe, expect, it } from 'vitest';
import { escapeData, escapeProperty } from '../../src/report/github.js';
import { formatCheck } from '../../src/report/index.js';
import { FINDINGS, options, report } from './fixture.js';

const GOLDEN = [
  '::error file=domains/vm2.yaml,line=4,endLine=5,title=schema/invalid::memory: expected a size, got "lots"',
  '::error file=domains/vm2.yaml,line=9,col=7,endLine=9,endColumn=16,title=pci/multiple-owners::device igd (0000:00:02.0) is assigned to vm1 and vm2%0A↳ domains/vm1.yaml:11:7 also assigned here',
  '::warning file=domains/vm2.yaml,line=12,col=13,endLine=12,endColumn=15,title=yaml/ambiguous-scalar::value 100%25 of "on", <&\'> is read as a boolean: quote it%0Asecond line',
  '::notice file=hosts/lab-1.yaml,line=3,col=5,endLine=3,endColumn=12,title=iommu/identity-map::dom0 maps all of host RAM 1:1',
  '',
].join('\n');

describe('github reporter', () => {
  it('writes one annotation per finding and nothing else', () => {
    expect(formatCheck(report(), 'github', options())).toBe(GOLDEN);
  });

  it('writes nothing at all for a clean run', () => {
    expect(formatCheck(report([]), 'github', options())).toBe('');
  });

  it('leaves out col/endColumn for a multi-line span (the toolkit rejects them)', () => {
    const line = formatCheck(report(), 'github', options()).split('\n')[0]!;
    expect(line).not.toMatch(/col=|endColumn=/);
  });

  it('escapes data and properties like @actions/core', () => {
    expect(escapeData('100% a\r\nb: c, d')).toBe('100%25 a%0D%0Ab: c, d');
    expect(escapeProperty('100% a\r\nb: c, d')).toBe('100%25 a%0D%0Ab%3A c%2C d');
    // `%` first, so an escape is never escaped twice.
    expect(escapeProperty('%3A')).toBe('%253A');
  });

  it('escapes a file name with , and : in its property', () => {
    const f = { ...FINDINGS[0]!, file: 'odd,name:1%.yaml' };
    expect(formatCheck(report([f]), 'github', options())).toBe(
      '::notice file=odd%2Cname%3A1%25.yaml,line=3,col=5,endLine=3,endColumn=12,title=iommu/identity-map::dom0 maps all of host RAM 1:1\n',
    );
  });
});
