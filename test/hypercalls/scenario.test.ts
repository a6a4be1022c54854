/** The scenario runner: report shape (SPEC §6.2), expectations, argument validation, streaming, fixtures. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { labScenario, load, loadDir, scenario, rules } from './helpers.js';
import { runScenario, runCalls, formatEmulateText, OPS, sameValue } from '../../src/hypercalls/index.js';
import { buildMachine } from '../../src/model/build.js';
import type { CallReport } from '../../src/hypercalls/types.js';

const ROOT = join(__dirname, '..', '..');

describe('report shape (SPEC §6.2)', () => {
  it('has the documented keys in the documented order', () => {
    const rep = scenario(labScenario(`  - op: iommu.lookup_foreign_page\n    domid: vm1\n    gfn: 0x100\n    expect: { status: 0 }\n  - op: iommu.op\n    ops: [{ subop: query_caps }]\n`));
    expect(Object.keys(rep)).toEqual(['version', 'scenario', 'host', 'abi', 'calls', 'findings', 'summary']);
    expect(rep).toMatchObject({ version: 1, scenario: 's', host: 'h', abi: 'xs' });
    expect(Object.keys(rep.calls[0]!)).toEqual(['index', 'op', 'caller', 'rc', 'errno', 'status', 'out', 'findings']);
    expect(Object.keys(rep.calls[1]!)).toEqual(['index', 'op', 'caller', 'rc', 'errno', 'status', 'statuses', 'errnos', 'out', 'findings']);
    expect(rep.calls[0]).toEqual({ index: 0, op: 'iommu.lookup_foreign_page', caller: 'dom0', rc: 0, errno: 'OK', status: 0, out: { bfn: '0x3e01200' }, findings: [] });
    expect(Object.keys(rep.summary)).toEqual(['calls', 'errors', 'warnings', 'failed_expectations']);
    expect(rep.summary).toEqual({ calls: 2, errors: 0, warnings: 0, failed_expectations: 0 });
    expect(JSON.parse(JSON.stringify(rep))).toEqual(rep);
  });

  it('each run starts from a fresh machine: the same scenario twice gives the same report', () => {
    const text = labScenario(`  - op: memory.decrease_reservation\n    caller: vm1\n    gfns: [0x100]\n    expect: { done: 1 }\n`);
    const { hc } = load(text);
    const a = runScenario(hc, hc.scenarios[0]!);
    const b = runScenario(hc, hc.scenarios[0]!);
    expect(b).toEqual(a);
    expect(a.summary.failed_expectations).toBe(0);
    // a Machine may be given instead of the host config: it is rebuilt
    expect(runScenario(buildMachine(hc), hc.scenarios[0]!)).toEqual(a);
  });
});

describe('expectations', () => {
  it('a mismatch is scenario/expectation-failed at the expect key, with both values', () => {
    const text = labScenario(`  - op: iommu.map_page
    bfn: 0x20000
    gfn: 0x1200
    flags: [read]
    expect: { status: OK, rc: 0 }
`);
    const rep = scenario(text);
    expect(rules(rep)).toEqual(['scenario/expectation-failed']);
    const f = rep.findings[0]!;
    expect(f).toMatchObject({ severity: 'error', host: 'h', subject: { kind: 'Scenario', name: 's' } });
    expect(f.message).toBe('call #0 (iommu.map_page): expected status OK, got EPERM (-1)');
    const lines = text.split('\n');
    expect(lines[f.line - 1]!.slice(f.column - 1)).toMatch(/^OK/);
    expect(rep.summary).toEqual({ calls: 1, errors: 1, warnings: 0, failed_expectations: 1 });
  });

  it('status by name or number, errno, rc counts and error names, statuses lists', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.unmap_page
    bfn: 0x20000
    expect: { status: -2, errno: ENOENT, rc: 0 }
  - op: memory.populate_physmap
    caller: vm3
    gfns: "0x400-0x402"
    expect: { rc: 3, done: 3 }
  - op: memory.translate
    caller: vm1
    domid: vm1
    gfns: [0]
    expect: { rc: EPERM, status: -1 }
  - op: iommu.op
    ops: [{ subop: unmap_page, bfn: 0x20000 }, { subop: query_caps }]
    expect: { statuses: [ENOENT, 0], errnos: [-2, OK] }
  - op: iommu.op
    ops: [{ subop: unmap_page, bfn: 0x20000 }]
    expect: { statuses: [OK] }
`),
    );
    expect(rep.findings.map((f) => f.message)).toEqual(['call #4 (iommu.op): expected statuses [OK], got [ENOENT]']);
  });

  it('frames compare numerically; lists element-wise; owners by name or domid; missing outputs named', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
    expect: { bfn: 65016320 }
  - op: memory.translate
    domid: vm1
    gfns: [0x100, 0x101]
    expect: { mfns: [0x1200, "4609"] }
  - op: device.dma
    device: gpu
    bfn_of: 0
    target: { domain: vm1, gfn: 0x100 }
    expect: { owner: 1, mfn: "0x1200" }
  - op: memory.translate
    domid: vm1
    gfns: [0x100]
    expect: { mfns: ["0x1200", "0x1201"], bfn: 1 }
`),
    );
    expect(rep.findings.filter((f) => f.rule === 'scenario/expectation-failed').map((f) => f.message)).toEqual([
      'call #3 (memory.translate): expected mfns ["0x1200","0x1201"], got ["0x1200"]',
      'call #3 (memory.translate): expected bfn 0x1, got no output `bfn` (outputs: mfns; OK)',
    ]);
  });

  it('an expect value that is not a status is schema/invalid (not a failed expectation)', () => {
    const rep = scenario(labScenario(`  - op: iommu.query_caps\n    expect: { status: EPRM }\n`));
    expect(rules(rep)).toEqual(['schema/invalid']);
    expect(rep.summary.failed_expectations).toBe(0);
  });

  it('grant statuses print as GNTST names', () => {
    const rep = scenario(labScenario(`  - op: grant.unmap\n    handle: 3\n    expect: { status: OK }\n`));
    expect(rep.findings[0]!.message).toBe('call #0 (grant.unmap): expected status OK, got GNTST_bad_handle (-4)');
  });

  it('an error name of the other kind never matches, though the numbers agree (EINTR and GNTST_bad_handle are both -4)', () => {
    const rep = scenario(
      labScenario(`  - op: grant.unmap
    handle: 7
    expect: { errno: EINTR, status: EINTR }
  - op: grant.unmap
    handle: 7
    expect: { errno: GNTST_bad_handle, status: -4 }
  - op: iommu.unmap_foreign_page
    bfn: 0x5000
    expect: { errno: GNTST_bad_domain }
  - op: iommu.unmap_foreign_page
    bfn: 0x5000
    expect: { errno: ENOENT }
`),
    );
    expect(rep.calls.map((c) => [c.errno, rules(rep, c.index)])).toEqual([
      ['GNTST_bad_handle', ['scenario/expectation-failed', 'scenario/expectation-failed']],
      ['GNTST_bad_handle', []],
      ['ENOENT', ['scenario/expectation-failed']],
      ['ENOENT', []],
    ]);
    expect(rep.findings[0]!.message).toBe('call #0 (grant.unmap): expected errno EINTR, got GNTST_bad_handle (-4)');
  });
});

describe('argument validation', () => {
  it('unknown op: schema/invalid at `op` with a suggestion, result ENOSYS', () => {
    const rep = scenario(labScenario(`  - op: iommu.map_pgae\n    bfn: 1\n`));
    expect(rep.calls[0]).toMatchObject({ op: 'iommu.map_pgae', errno: 'ENOSYS' });
    expect(rep.findings[0]!.message).toContain('did you mean `iommu.map_page`');
  });

  it('unknown key, missing field, malformed frame, unknown flag: schema/invalid at the node, call not made (EINVAL)', () => {
    const text = labScenario(`  - op: iommu.map_page
    bfn: 0x20000
    gfm: 0x200
  - op: iommu.map_page
    bfn: "0xzz"
    gfn: 0x200
  - op: iommu.map_page
    bfn: "0x10000000000000"
    gfn: 0x200
    flags: [read, wirte]
  - op: memory.translate
    domid: vm1
    gfns: [0x100, "0x2-0x1"]
  - op: iommu.op
    ops: [{ subop: map_page, bfn: 1 }, { subop: frob }, 7]
`);
    const rep = scenario(text);
    const lines = text.split('\n');
    const at = (f: { line: number; column: number }) => lines[f.line - 1]!.slice(f.column - 1, f.column + 9);
    const c0 = rep.calls[0]!;
    expect(c0.errno).toBe('EINVAL');
    expect(c0.findings.map((f) => [f.rule, at(f)])).toEqual([
      ['schema/invalid', 'op: iommu.'], // missing gfn: at the call
      ['schema/invalid', 'gfm: 0x200'], // unknown key (did you mean gfn)
    ]);
    expect(c0.findings[1]!.message).toContain('did you mean `gfn`');
    expect(rep.calls[1]!.findings.map((f) => at(f))).toEqual(['"0xzz"']);
    expect(rep.calls[2]!.findings.map((f) => f.message)).toEqual([
      expect.stringContaining('beyond the 52-bit frame space'),
      expect.stringContaining('unknown flag "wirte"'),
    ]);
    expect(rep.calls[3]!.findings[0]!.message).toContain('below its start');
    expect(rep.calls[4]!.findings.map((f) => f.message)).toEqual([
      expect.stringContaining('needs `gfn`'),
      expect.stringContaining('`subop` "frob" is not an xs PV-IOMMU subop'),
      expect.stringContaining('element 2 of `ops` must be a mapping'),
    ]);
    expect(rep.calls.every((c) => c.errno === 'EINVAL')).toBe(true);
    // the host is untouched: nothing was mapped
    expect(rep.summary.errors).toBe(9);
  });

  it('an element without `subop`, and flags written as a mapping, say what is wrong with them', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.op
    ops: [{ bfn: 1 }]
  - op: iommu.map_page
    bfn: 0x20000
    gfn: 0x200
    flags: { read: true }
`),
    );
    expect(rep.calls[0]!.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^an iommu\.op element needs `subop`, one of query_caps, /)]);
    expect(rep.calls[1]!.findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^`flags` of iommu\.map_page must be a list of flag names \(read, .*\) or a 16-bit mask, not a mapping$/),
    ]);
  });

  it('a frame list takes frames, hex strings, ranges and {start, end | pages}; each bad entry is a finding at that entry', () => {
    const text = labScenario(`  - op: memory.translate
    domid: vm1
    gfns: [0x100, "0x101", "0x102-0x103", { start: 0x104, end: 0x105 }, { start: 0x106, pages: 2 }]
  - op: memory.translate
    domid: vm1
    gfns: "0x100-0x107"
  - op: memory.translate
    domid: vm1
    gfns: [0x100, "0x3-0x2", { start: 1, stop: 2 }, { end: 4 }, { start: 1 }, "0xq"]
`);
    const rep = scenario(text);
    const lines = text.split('\n');
    const at = (f: { line: number; column: number }) => lines[f.line - 1]!.slice(f.column - 1, f.column + 6);
    const mfns = (c: CallReport) => (c.out as { mfns?: string[] }).mfns;
    expect(rep.calls[0]!.errno).toBe('OK');
    expect(mfns(rep.calls[0]!)).toHaveLength(8);
    // The same eight gfns as one range: the same frames, in the same order.
    expect(rep.calls[1]!.errno).toBe('OK');
    expect(mfns(rep.calls[1]!)).toEqual(mfns(rep.calls[0]!));
    const bad = rep.calls[2]!;
    expect(bad.errno).toBe('EINVAL');
    expect(bad.findings.map((f) => [at(f), f.message])).toEqual([
      ['"0x3-0x', expect.stringContaining('`gfns.1` of memory.translate: range end 0x2 is below its start 0x3')],
      ['stop: 2', expect.stringContaining('unknown key `stop` in a frame range')],
      ['{ end: ', expect.stringContaining('`gfns.3` of memory.translate: a frame range needs `start`')],
      ['{ start', expect.stringContaining('`gfns.4` of memory.translate: a frame range needs `end`')],
      ['"0xq"]', expect.stringContaining('`gfns.5` of memory.translate: "0xq" is not a number')],
    ]);
    // a range past the 52-bit frame space says so (as a config's range does)
    const past = scenario(labScenario(`  - op: memory.translate\n    domid: vm1\n    gfns: [{ start: 0xffffffffffff0, pages: 0x100 }]\n`));
    expect(past.calls[0]!.findings.map((f) => f.message)).toEqual(['`gfns.0` of memory.translate: range end 0x100000000000ef is beyond the 52-bit frame space']);
  });

  it('a domain name no domain has: ref/unknown, and the call fails as Xen does for an unknown id', () => {
    const rep = scenario(
      labScenario(`  - op: memory.translate
    domid: vm9
    gfns: [0]
  - op: memory.populate_physmap
    domid: vm9
    gfns: [0]
  - op: iommu.lookup_foreign_page
    domid: vm9
    gfn: 0
`),
    );
    expect(rep.calls.map((c) => [c.errno, c.rc, c.findings.map((f) => f.rule)])).toEqual([
      ['ESRCH', -3, ['ref/unknown']],
      ['OK', 0, ['ref/unknown']],
      ['ENXIO', 0, ['ref/unknown']],
    ]);
  });

  it('names of Object.prototype members are domain names like any other, and flag names of none', () => {
    // (Special domids and flag names were once looked up as properties of plain objects, where
    // `constructor` or `toString` found a function.)
    const rep = scenario(
      labScenario(`  - op: iommu.lookup_foreign_page
    domid: constructor
    gfn: 0
  - op: memory.translate
    domid: toString
    gfns: [0]
  - op: iommu.map_page
    bfn: 0x100
    gfn: 0x100
    flags: [read, hasOwnProperty]
  - op: iommu.map_page
    bfn: 0x100
    gfn: 0x100
    flags: __proto__
`),
    );
    expect(rep.calls.map((c) => [c.errno, c.findings.map((f) => f.rule)])).toEqual([
      ['ENXIO', ['ref/unknown']],
      ['ESRCH', ['ref/unknown']],
      ['EINVAL', ['schema/invalid']],
      ['EINVAL', ['schema/invalid']],
    ]);
    expect(rep.calls[0]!.findings[0]!.message).toContain('names domain "constructor"');
    expect(rep.calls[2]!.findings[0]!.message).toContain('unknown flag "hasOwnProperty"');
  });

  it('an expected output named like an Object.prototype member is an output the call does not have', () => {
    const rep = scenario(labScenario(`  - op: iommu.query_caps
    expect: {toString: 1}
`));
    expect(rep.calls[0]!.findings.map((f) => f.message)).toEqual([expect.stringContaining('expected toString 1, got no output `toString`')]);
    // nested: an element of a batch's outputs
    expect(sameValue({ constructor: 1 }, { bfn: '0x1' })).toBe(false);
    expect(sameValue([{ toString: 1 }], [{}])).toBe(false);
    expect(sameValue({ bfn: 1 }, { bfn: '0x1' })).toBe(true);
  });

  it('a domid beyond 16 bits is schema/invalid; an unknown numeric domid is an errno', () => {
    const rep = scenario(labScenario(`  - op: memory.translate\n    domid: 70000\n    gfns: [0]\n  - op: memory.translate\n    domid: 4000\n    gfns: [0]\n`));
    expect(rep.calls.map((c) => [c.errno, rules(rep, c.index)])).toEqual([
      ['EINVAL', ['schema/invalid']],
      ['ESRCH', []],
    ]);
  });

  it('bfn_of / mfn_of must name an earlier call that produced the output', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x7ffff
  - op: device.dma
    device: gpu
    bfn_of: 0
  - op: device.dma
    device: gpu
    bfn_of: 5
  - op: device.dma
    device: gpu
    mfn_of: 0
    bfn: 3
`),
    );
    expect(rep.calls[1]!.findings[0]!.message).toContain('call #0 (iommu.lookup_foreign_page) has no out.bfn (it returned ENXIO)');
    expect(rep.calls[2]!.findings[0]!.message).toContain('call #5 has not run yet (this is call #2)');
    expect(rep.calls[3]!.findings[0]!.message).toContain('give only one of');
  });

  it('bfn_of an out.bfn past the 52-bit frame space says so (it has one)', () => {
    // a foreign window so high that vm1's frame lands past 2^52 (window-beyond-dma reports the config)
    const o = { elfNote: 'true\n  foreign_offset: 0xfffffffffff00' as unknown as boolean };
    const rep = scenario(
      labScenario(
        `  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
  - op: iommu.unmap_foreign_page
    bfn_of: 0
`,
        o,
      ),
    );
    expect(rep.calls[0]!.out).toEqual({ bfn: '0x10000000001100' });
    expect(rep.calls[1]!.findings.map((f) => f.message)).toEqual([expect.stringContaining('call #0 (iommu.lookup_foreign_page) gave an out.bfn past the 52-bit frame space, which no call can take')]);
  });

  it('a required argument written as null is reported at its value, not at the call', () => {
    const text = labScenario(`  - op: iommu.lookup_foreign_page\n    domid: vm1\n    gfn: ~\n`);
    const rep = scenario(text);
    const f = rep.calls[0]!.findings[0]!;
    expect(f.message).toMatch(/needs `gfn` .*; it is null$/);
    expect(text.split('\n')[f.line - 1]!.slice(f.column - 1)).toBe('~');
  });

  it('a bfn_of / mfn_of that is not an index is one finding, not a second about call #0', () => {
    const rep = scenario(labScenario(`  - op: iommu.query_caps\n  - op: device.dma\n    device: gpu\n    mfn_of: __proto__\n  - op: device.dma\n    device: gpu\n    bfn_of: -1\n`));
    expect([rules(rep, 1), rules(rep, 2)]).toEqual([['schema/invalid'], ['schema/invalid']]);
    expect(rep.calls[1]!.findings[0]!.message).not.toMatch(/call #0/);
  });

  it('a call that names itself in bfn_of / mfn_of is schema/invalid (EINVAL), at any index', () => {
    // its own slot holds no result yet: the call must not read whatever the slot holds
    const self = labScenario(`  - op: device.dma\n    device: gpu\n    bfn_of: 0\n    access: write\n  - op: iommu.unmap_page\n    bfn_of: 1\n`);
    const rep = scenario(self);
    expect(rep.calls.map((c) => [c.errno, rules(rep, c.index)])).toEqual([
      ['EINVAL', ['schema/invalid']],
      ['EINVAL', ['schema/invalid']],
    ]);
    expect(rep.calls[1]!.findings[0]!.message).toContain('call #1 is this call');
    // past the first 1,024 calls (where the runner's table of outputs grows)
    const many = Array.from({ length: 1024 }, () => '  - op: iommu.query_caps\n').join('');
    const big = scenario(labScenario(`${many}  - op: device.dma\n    device: gpu\n    bfn_of: 1024\n    access: write\n`));
    expect([big.calls[1024]!.errno, rules(big, 1024)]).toEqual(['EINVAL', ['schema/invalid']]);
  });

  it('the caller defaults to the hardware domain; a destroyed domain makes no more calls (ESRCH)', () => {
    const rep = scenario(
      labScenario(`  - op: domain.destroy
    domid: vm3
  - op: memory.populate_physmap
    caller: vm3
    gfns: [0x400]
`),
    );
    expect(rep.calls.map((c) => [c.caller, c.errno])).toEqual([
      ['dom0', 'OK'],
      ['vm3', 'ESRCH'],
    ]);
  });
});

describe('streaming and text', () => {
  it('runCalls hands each call to onCall as it completes, then the end-of-run findings', () => {
    const { hc } = load(labScenario(`  - op: memory.translate\n    domid: vm1\n    gfns: [0x100]\n  - op: memory.decrease_reservation\n    caller: vm1\n    gfns: [0x100]\n`));
    const seen: CallReport[] = [];
    const calls = hc.scenarios[0]!.calls.map((call, i) => ({ call, locate: (p?: readonly (string | number)[]) => hc.scenarios[0]!.src.locate(['calls', i, ...(p ?? [])]) }));
    const res = runCalls(buildMachine(hc), calls, (r) => seen.push(r));
    expect(seen.map((c) => [c.index, c.op])).toEqual([
      [0, 'memory.translate'],
      [1, 'memory.decrease_reservation'],
    ]);
    expect(res.findings.map((f) => f.rule)).toEqual(['hypercall/raw-mfn-exposed', 'mapping/dangling']);
    expect(res.summary).toEqual({ calls: 2, errors: 1, warnings: 1, failed_expectations: 0 });
  });

  it('formatEmulateText: one line per call with the result and key outputs, findings under it, a summary', () => {
    const rep = scenario(labScenario(`  - op: iommu.lookup_foreign_page\n    domid: vm1\n    gfn: 0x100\n  - op: memory.populate_physmap\n    caller: vm3\n    gfns: [0x400]\n  - op: memory.translate\n    domid: vm1\n    gfns: [0x100]\n`));
    const text = formatEmulateText(rep);
    expect(text).toContain('#0  iommu.lookup_foreign_page  dom0  → OK  bfn=0x3e01200');
    expect(text).toContain('#1  memory.populate_physmap  vm3  → 1 (OK)  done=1');
    expect(text).toMatch(/#2 {2}memory\.translate {2}dom0 {2}→ OK {2}mfns=\[0x1200\]\n {4}warning {2}memory\.translate handed dom0 1 raw MFN/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('3 calls, 0 errors, 1 warning, 0 failed expectations');
  });

  it('every SPEC §4 op is registered', () => {
    for (const op of [
      'memory.populate_physmap', 'memory.decrease_reservation', 'memory.add_to_physmap', 'memory.remove_from_physmap', 'memory.translate',
      'grant.map', 'grant.unmap', 'domctl.assign_device', 'domctl.test_assign_device', 'domctl.deassign_device', 'domain.destroy',
      'iommu.op', 'iommu.query_caps', 'iommu.map_page', 'iommu.unmap_page', 'iommu.map_foreign_page', 'iommu.lookup_foreign_page', 'iommu.unmap_foreign_page',
      'iommu.query_capabilities', 'iommu.init', 'iommu.alloc_context', 'iommu.free_context', 'iommu.reattach_device', 'iommu.map_pages', 'iommu.unmap_pages', 'iommu.remote_cmd',
      'device.dma',
    ]) expect(OPS.has(op), op).toBe(true);
  });
});

describe('the mediated-GPU story (fixtures/scenarios/mediated-gpu.yaml)', () => {
  it('raw-MFN mediator: the GPU ends up writing into vm2 (dma/isolation, mapping/dangling)', async () => {
    const { hc } = await loadDir([join(ROOT, 'fixtures', 'scenarios', 'mediated-gpu.yaml')]);
    const rep = runScenario(hc, hc.scenarios.find((s) => s.name === 'raw-mfn-mediator')!);
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rep.calls.map((c) => c.findings.map((f) => f.rule))).toEqual([['hypercall/raw-mfn-exposed'], [], [], [], ['hypercall/raw-mfn-exposed'], ['dma/isolation']]);
    expect(rules(rep)).toContain('mapping/dangling');
    expect(rep.calls[5]!.out).toEqual({ mfn: '0x1200', owner: 'vm2' });
  });

  it('PV-IOMMU mediator: the pin keeps vm1’s page; no isolation break, nothing dangling', async () => {
    const { hc } = await loadDir([join(ROOT, 'fixtures', 'scenarios', 'mediated-gpu.yaml')]);
    const rep = runScenario(hc, hc.scenarios.find((s) => s.name === 'pv-iommu-mediator')!);
    expect(rep.summary).toEqual({ calls: 10, errors: 0, warnings: 0, failed_expectations: 0 });
    expect(rep.findings).toEqual([]);
  });
});
