/** JSON Lines traces: streaming reader, bad lines, indexes, and a throughput check. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lab, load } from './helpers.js';
import { emulateTrace, forEachTraceLine, readTrace, formatCallText } from '../../src/hypercalls/index.js';
import { buildMachine } from '../../src/model/build.js';
import type { CallReport } from '../../src/hypercalls/types.js';

const dir = mkdtempSync(join(tmpdir(), 'pviommu-trace-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const machine = () => buildMachine(load(lab()).hc);

describe('readTrace', () => {
  it('yields each non-blank line with its line number; CRLF and a last line without newline are fine', async () => {
    const p = file('a.jsonl', '{"op":"iommu.query_caps"}\r\n\n   \n{"op":"iommu.unmap_page","bfn":1}\n[1,2]\n{"op":\n{"op":"iommu.query_caps"}');
    const got: [number, string | undefined, boolean][] = [];
    for await (const t of readTrace(p, 'a.jsonl')) got.push([t.line, t.error?.split(' (')[0]?.split(';')[0], t.call !== undefined]);
    expect(got).toEqual([
      [1, undefined, true],
      [4, undefined, true],
      [5, 'line 5 is not a call object', false],
      [6, 'line 6 is not valid JSON', false],
      [7, undefined, true],
    ]);
  });

  it('a byte order mark before the first line is skipped (on the first line only), and the call spans its own text', async () => {
    const p = file('bom.jsonl', '\uFEFF{"op":"iommu.query_caps"}\n\uFEFF{"op":"iommu.query_caps"}\n');
    const got: [number, boolean, string | undefined][] = [];
    for await (const t of readTrace(p, 'bom.jsonl')) got.push([t.line, t.call !== undefined, t.error?.split(' (')[0]]);
    expect(got).toEqual([
      [1, true, undefined],
      [2, false, 'line 2 is not valid JSON'],
    ]);
    let f: CallReport['findings'][number] | undefined;
    await emulateTrace(machine(), file('bom2.jsonl', '\uFEFF{"op":"iommu.nope"}\n'), (c) => (f = c.findings[0]));
    expect(f).toMatchObject({ rule: 'schema/invalid', line: 1, column: 1, endColumn: 1 + '{"op":"iommu.nope"}'.length });
  });

  it('a key given twice, at any depth, makes the line invalid; the same key in two objects, or as a value, does not', async () => {
    const lines = [
      '{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":256,"gfn":999999999}',
      '{"op":"iommu.query_caps","expect":{"status":0,"status":-6}}',
      '{"op":"iommu.query_caps","expect":{"st\\u0061tus":0,"status":-6}}',
      '{"op":"iommu.query_caps","x":[{"a":1},{"a":2}],"y":"op","z":{"op":{"op":1}}}',
      '{"op":"iommu.query_caps","s":"a \\"op\\": b"}',
    ];
    const got: [number, string | undefined][] = [];
    for await (const t of readTrace(file('dup.jsonl', lines.join('\n') + '\n'), 'dup.jsonl')) got.push([t.line, t.error]);
    expect(got).toEqual([
      [1, 'line 1 has the key "gfn" twice; remove one (JSON would keep the last, a YAML scenario the first)'],
      [2, 'line 2 has the key "status" twice; remove one (JSON would keep the last, a YAML scenario the first)'],
      [3, 'line 3 has the key "status" twice; remove one (JSON would keep the last, a YAML scenario the first)'],
      [4, undefined],
      [5, undefined],
    ]);
  });

  it('lines spanning chunk boundaries are reassembled', async () => {
    const long = `{"op":"iommu.query_caps","pad":"${'x'.repeat(3 << 20)}"}`;
    const p = file('b.jsonl', `${long}\n${long}\n`);
    let n = 0;
    for await (const t of readTrace(p)) {
      expect(t.error).toBeUndefined();
      n++;
    }
    expect(n).toBe(2);
  });
});

describe('forEachTraceLine', () => {
  it('a regular file (read with readSync into one buffer) gives the lines a stream of the same bytes gives', async () => {
    // Short lines, so that the 1 MiB chunk boundaries fall inside lines; a 3 MiB line; CRLF; bad lines.
    const parts: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      if (i % 9_000 === 5) parts.push(`{"op":"iommu.query_caps","pad":"${'y'.repeat(3 << 20)}"}`);
      else if (i % 7_001 === 3) parts.push('{"op":');
      else parts.push(`{"op":"iommu.map_page","bfn":"0x${i.toString(16)}","gfn":${i}}${i % 5 === 0 ? '\r' : ''}`);
    }
    const text = parts.join('\n');
    const p = file('c.jsonl', text);
    const collect = async (source: Parameters<typeof forEachTraceLine>[0]) => {
      const got: string[] = [];
      await forEachTraceLine(source, (t) => {
        const c = t.call as { toObject?: () => unknown } | undefined;
        got.push(`${t.line} ${t.error?.split(' (')[0] ?? ''} ${JSON.stringify(typeof c?.toObject === 'function' ? c.toObject() : c)?.slice(0, 80)}`);
      });
      return got;
    };
    const bytes = Buffer.from(text);
    const fromFile = await collect(p);
    const fromStream = await collect(
      (async function* () {
        for (let i = 0; i < bytes.length; i += 65_521) yield bytes.subarray(i, i + 65_521);
      })(),
    );
    expect(fromFile).toHaveLength(40_000);
    expect(fromFile[5]).toMatch(/^6 {2}\{"op":"iommu.query_caps","pad":"yyy/);
    expect(fromFile[3]).toBe('4 line 4 is not valid JSON undefined');
    expect(fromFile).toEqual(fromStream);
  });
});

describe('lines that are not JSON', () => {
  it('keep JSON.parse\'s reason, and leave stack traces as they were, also for what the consumer throws', async () => {
    const p = file('d.jsonl', '{"op":\n{"op":"iommu.query_caps"}\n[1,\n');
    const before = Error.stackTraceLimit;
    const seen: { line: number; error: string | undefined; limit: number }[] = [];
    await forEachTraceLine(p, (t) => seen.push({ line: t.line, error: t.error, limit: Error.stackTraceLimit }));
    expect(seen.map((s) => s.line)).toEqual([1, 2, 3]);
    expect(seen[0]!.error).toMatch(/^line 1 is not valid JSON \(.+\); each line/);
    expect(seen[2]!.error).toMatch(/^line 3 is not valid JSON \(.+\)/);
    expect(seen[1]!.error).toBeUndefined();
    // While the consumer runs and after the trace, errors get their stack traces.
    expect(seen.map((s) => s.limit)).toEqual([before, before, before]);
    expect(Error.stackTraceLimit).toBe(before);
    const thrown = await forEachTraceLine(p, () => {
      throw new Error('consumer failed');
    }).then(
      () => new Error('the consumer\'s error was lost'),
      (e: unknown) => e as Error,
    );
    expect(thrown.message).toBe('consumer failed');
    expect(thrown.stack).toMatch(/trace\.test\.ts/);
  });
});

describe('emulateTrace', () => {
  it('runs each line as a call; a bad line is schema/invalid at file:line, takes an index, and the run goes on', async () => {
    const p = file(
      'c.jsonl',
      [
        '{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x100","expect":{"bfn":"0x3e01200"}}',
        'not json',
        '{"op":"device.dma","device":"gpu","bfn_of":0,"access":"write","target":{"domain":"vm1","gfn":256}}',
        '',
        '{"op":"iommu.unmap_foreign_page","bfn_of":0,"expect":{"status":"ENOENT"}}',
      ].join('\n') + '\n',
    );
    const calls: CallReport[] = [];
    const res = await emulateTrace(machine(), p, (c) => calls.push(c), { display: 'c.jsonl' });
    expect(calls.map((c) => [c.index, c.op, c.errno])).toEqual([
      [0, 'iommu.lookup_foreign_page', 'OK'],
      [1, '', 'EINVAL'],
      [2, 'device.dma', 'OK'],
      [3, 'iommu.unmap_foreign_page', 'OK'],
    ]);
    expect(calls[2]!.out).toEqual({ mfn: '0x1200', owner: 'vm1' });
    expect(res.findings.map((f) => [f.rule, f.file, f.line, f.column])).toEqual([
      ['schema/invalid', 'c.jsonl', 2, 1],
      ['scenario/expectation-failed', 'c.jsonl', 5, 1],
    ]);
    expect(res.summary).toEqual({ calls: 4, errors: 2, warnings: 0, failed_expectations: 1 });
    expect(formatCallText(calls[1]!)).toContain('#1  (invalid)  → EINVAL');
  });

  it('an unknown argument is found on every line that has it, whatever the lines of the same op before it', async () => {
    // Lines of one op with different keys, an unknown one among them, after lines of the same op
    // and of others whose keys were all known (the reader once remembered those and skipped the
    // check for a line with the same keys): every unknown key is found.
    const ok = '{"op":"iommu.unmap_page","bfn":"0x10"}';
    const p = file(
      'keys.jsonl',
      [
        ok,
        '{"op":"iommu.unmap_page","bfn":"0x10","bnf":"0x11"}',
        ok,
        '{"op":"iommu.unmap_page","bnf":"0x10"}',
        '{"op":"iommu.unmap_page","bnf":"0x10"}',
        '{"op":"iommu.query_caps","bfn":"0x10"}',
        ok,
        '{"bfn":"0x10","op":"iommu.unmap_page"}',
      ].join('\n') + '\n',
    );
    const res = await emulateTrace(machine(), p, () => {});
    const unknown = res.findings.filter((f) => f.message.startsWith('unknown argument'));
    expect(unknown.map((f) => [f.line, f.message.split(' for ')[0]])).toEqual([
      [2, 'unknown argument `bnf`'],
      [4, 'unknown argument `bnf`'],
      [5, 'unknown argument `bnf`'],
      [6, 'unknown argument `bfn`'],
    ]);
  });

  it('bfn_of names the op and errno of the call it points at, for calls before and after the run has grown its records', async () => {
    const lines: string[] = [];
    const what: [string, string][] = [];
    for (let i = 0; i < 2_500; i++) {
      // an unknown op (ENOSYS), a failing foreign lookup (ENXIO), a query_caps (no bfn: OK from
      // dom0, ENOSYS from a guest — one op, two errnos)
      const kind = i % 3;
      const guest = i % 2 === 1;
      lines.push(kind === 0 ? `{"op":"frob.nicate${i % 7}"}` : kind === 1 ? '{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x7ffff"}' : `{"op":"iommu.query_caps"${guest ? ',"caller":"vm1"' : ''}}`);
      what.push(kind === 0 ? [`frob.nicate${i % 7}`, ' (it returned ENOSYS)'] : kind === 1 ? ['iommu.lookup_foreign_page', ' (it returned ENXIO)'] : ['iommu.query_caps', guest ? ' (it returned ENOSYS)' : '']);
    }
    const refs = [0, 1, 2, 5, 1_023, 1_024, 1_025, 2_047, 2_048, 2_399, 2_400];
    for (const r of refs) lines.push(`{"op":"device.dma","device":"gpu","bfn_of":${r}}`);
    const res = await emulateTrace(machine(), file('outcomes.jsonl', lines.join('\n') + '\n'), () => {});
    const msgs = res.findings.filter((f) => f.message.includes('has no out.bfn')).map((f) => f.message.slice(f.message.indexOf('call #')).split(':')[0]);
    expect(msgs).toEqual(refs.map((r) => `call #${r} (${what[r]![0]}) has no out.bfn${what[r]![1]}`));
  });

  it("a finding spans its own line, whatever the lines before it (the reader's line object is reused)", async () => {
    const lines = ['{"op":"iommu.unmap_page","bfn":"0x10"}', '{"op":"memory.translate","domid":"nosuch","gfns":[0]}', '{"op":"iommu.unmap_page","bfn":"0x10"}', '  {"op":"memory.translate","domid":"vm-none","gfns":["0x1","0x2"]}\r'];
    const res = await emulateTrace(machine(), file('spans.jsonl', lines.join('\n') + '\n'), () => {});
    expect(res.findings.filter((f) => f.rule === 'ref/unknown').map((f) => [f.line, f.column, f.endLine, f.endColumn])).toEqual([
      [2, 1, 2, lines[1]!.length + 1],
      [4, 1, 4, lines[3]!.length], // (the \r is not part of the line)
    ]);
  });

  it('end-of-run checks apply to traces too', async () => {
    const p = file('d.jsonl', '{"op":"memory.translate","domid":1,"gfns":["0x100"]}\n{"op":"memory.decrease_reservation","caller":"vm1","gfns":[256]}\n');
    const res = await emulateTrace(machine(), p, () => {});
    expect(res.findings.map((f) => [f.rule, f.line])).toEqual([
      ['hypercall/raw-mfn-exposed', 1],
      ['mapping/dangling', 1],
    ]);
  });

  it('streams a large trace (map / lookup / unmap) quickly', async () => {
    const N = 60_000;
    const lines: string[] = [];
    for (let i = 0; i < N; i += 3) {
      const b = (0x20000 + (i % 4096)).toString(16);
      lines.push(`{"op":"iommu.map_page","bfn":"0x${b}","gfn":"0x${(0x200 + (i % 2048)).toString(16)}","flags":["read","write"]}`);
      lines.push(`{"op":"iommu.lookup_foreign_page","domid":1,"gfn":${i % 2048}}`);
      lines.push(`{"op":"iommu.unmap_page","bfn":"0x${b}"}`);
    }
    const p = file('big.jsonl', lines.join('\n') + '\n');
    let ok = 0;
    const t0 = performance.now();
    const res = await emulateTrace(machine(), p, (c) => {
      if (c.errno === 'OK') ok++;
    });
    const rate = N / ((performance.now() - t0) / 1000);
    expect(ok).toBe(N);
    expect(res.findings).toEqual([]);
    // Loose floor (slow CI machines); `node bench` style runs reach several hundred thousand calls/s.
    expect(rate).toBeGreaterThan(20_000);
  });
});
