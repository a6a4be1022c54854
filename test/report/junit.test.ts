import { describe, expect, it } from 'vitest';
import { formatCheck } from '../../src/report/index.js';
import { attr, text } from '../../src/report/junit.js';
import { FINDINGS, options, report } from './fixture.js';

const GOLDEN = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pviommu" tests="5" failures="3" errors="0" time="0">
  <testsuite name="domains/vm1.yaml" tests="1" failures="0" errors="0" time="0">
    <testcase classname="pviommu" name="domains/vm1.yaml" time="0"/>
  </testsuite>
  <testsuite name="domains/vm2.yaml" tests="3" failures="3" errors="0" time="0">
    <testcase classname="schema/invalid" name="domains/vm2.yaml:4:11 schema/invalid" time="0">
      <failure type="schema/invalid" message="memory: expected a size, got &quot;lots&quot;">error schema/invalid at domains/vm2.yaml:4:11
memory: expected a size, got "lots"</failure>
    </testcase>
    <testcase classname="pci/multiple-owners" name="domains/vm2.yaml:9:7 pci/multiple-owners" time="0">
      <failure type="pci/multiple-owners" message="device igd (0000:00:02.0) is assigned to vm1 and vm2">error pci/multiple-owners at domains/vm2.yaml:9:7
device igd (0000:00:02.0) is assigned to vm1 and vm2
related: domains/vm1.yaml:11:7 also assigned here</failure>
    </testcase>
    <testcase classname="yaml/ambiguous-scalar" name="domains/vm2.yaml:12:13 yaml/ambiguous-scalar" time="0">
      <failure type="yaml/ambiguous-scalar" message="value 100% of &quot;on&quot;, &lt;&amp;&apos;&gt; is read as a boolean: quote it&#10;second line">warning yaml/ambiguous-scalar at domains/vm2.yaml:12:13
value 100% of "on", &lt;&amp;'&gt; is read as a boolean: quote it
second line</failure>
    </testcase>
  </testsuite>
  <testsuite name="hosts/lab-1.yaml" tests="1" failures="0" errors="0" time="0">
    <testcase classname="iommu/identity-map" name="hosts/lab-1.yaml:3:5 iommu/identity-map" time="0">
      <system-out>info iommu/identity-map at hosts/lab-1.yaml:3:5
dom0 maps all of host RAM 1:1</system-out>
    </testcase>
  </testsuite>
</testsuites>
`;

/**
 * A tiny XML well-formedness check, enough for what the reporter writes: tags balance, every
 * `&` starts a known entity or character reference, no raw `<` in text or attributes, and only
 * XML 1.0 characters. Returns the element names in document order.
 */
function checkXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  expect(body).not.toMatch(/<\?/);
  expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
  expect(xml.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, '')).not.toContain('&');
  const stack: string[] = [];
  const names: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    expect(body.slice(last, m.index)).not.toMatch(/[<>]/);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) {
      expect(stack.pop()).toBe(name);
    } else {
      names.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  return names;
}

function count(names: string[], name: string): number {
  return names.filter((n) => n === name).length;
}

describe('junit reporter', () => {
  it('matches the golden output', () => {
    expect(formatCheck(report(), 'junit', options())).toBe(GOLDEN);
  });

  it('is well-formed, with one suite per file and one case per finding or passing file', () => {
    const names = checkXml(formatCheck(report(), 'junit', options()));
    expect(names[0]).toBe('testsuites');
    expect(count(names, 'testsuites')).toBe(1);
    expect(count(names, 'testsuite')).toBe(3);
    expect(count(names, 'testcase')).toBe(5);
    expect(count(names, 'failure')).toBe(3);
    expect(count(names, 'system-out')).toBe(1);
  });

  it('lists every checked file even when nothing was found', () => {
    const xml = formatCheck(report([]), 'junit', options());
    const names = checkXml(xml);
    expect(count(names, 'testsuite')).toBe(3);
    expect(count(names, 'testcase')).toBe(3);
    expect(count(names, 'failure')).toBe(0);
    expect(xml).toContain('<testsuites name="pviommu" tests="3" failures="0" errors="0" time="0">');
    // Sorted by path (code units).
    expect([...xml.matchAll(/<testsuite name="([^"]*)"/g)].map((m) => m[1])).toEqual([
      'domains/vm1.yaml',
      'domains/vm2.yaml',
      'hosts/lab-1.yaml',
    ]);
  });

  it('adds a suite for a file a finding names that was not in opts.files', () => {
    const xml = formatCheck(report(), 'junit', options({ files: [] }));
    expect([...xml.matchAll(/<testsuite name="([^"]*)"/g)].map((m) => m[1])).toEqual([
      'domains/vm2.yaml',
      'hosts/lab-1.yaml',
    ]);
  });

  it('strips characters XML 1.0 cannot hold and escapes markup', () => {
    const nasty = { ...FINDINGS[1]!, message: 'a\u0000b\u001bc\ud800d\uffffe <x> & "q" \'a\'\tz\r\n]]>' };
    const xml = formatCheck(report([nasty]), 'junit', options({ files: [] }));
    checkXml(xml);
    expect(xml).toContain('message="abcde &lt;x&gt; &amp; &quot;q&quot; &apos;a&apos;&#9;z&#13;&#10;]]&gt;"');
    expect(text('<a & b>')).toBe('&lt;a &amp; b&gt;');
    expect(attr('"\'\n')).toBe('&quot;&apos;&#10;');
    expect(text('emoji 😀 ok')).toBe('emoji 😀 ok');
  });
});
