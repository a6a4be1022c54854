/** LineChunks: lines encoded into buffers, written in order, one write at a time, with backpressure. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineChunks, memoryIo } from '../../src/commands/io.js';
import { openOutputAtomic } from '../../src/report/write.js';
import { callReportJson, encodeCallReport } from '../../src/hypercalls/jsonl.js';
import type { CallReport } from '../../src/hypercalls/types.js';
import type { Finding } from '../../src/policy/types.js';

const utf8 = (c: Uint8Array) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8');

const finding: Finding = { rule: 'dma/fault', severity: 'error', message: 'm', file: 'a', line: 1, column: 1, endLine: 1, endColumn: 2 };

function report(over: Partial<CallReport> = {}): CallReport {
  return { index: 0, op: 'iommu.map_page', caller: 'dom0', rc: 0, errno: 'OK', status: 0, out: {}, findings: [], ...over };
}

/** A value JSON.stringify writes through its toJSON (the byte writer leaves such reports to it). */
class Stamp {
  constructor(readonly at: number) {}
  toJSON(): string {
    return `t+${this.at}`;
  }
}

/** Call reports of every kind: mostly of the common shape; kinds 6 and 8 need `callReportJson`. */
function mixedReport(i: number): CallReport {
  const hex = `0x${(i * 4096).toString(16)}`;
  switch (i % 11) {
    case 1: // non-ASCII output value
      return report({ index: i, caller: 'vm-é', out: { owner: `vm-${'é'.repeat(i % 5)}-\u{1f600}` } });
    case 3: // a finding
      return report({ index: i, rc: -1, errno: 'EPERM', status: -1, findings: [finding] });
    case 5: // a batch
      return report({ index: i, op: 'iommu.op', statuses: [0, -22], errnos: ['OK', 'EINVAL'] });
    case 6: // a value with toJSON: falls back
      return report({ index: i, out: { at: new Stamp(i) as unknown as string } });
    case 7: // nested outputs, or a value needing escapes after plain ones
      return i % 2 ? report({ index: i, out: { mfns: [hex, '0x2'] } }) : report({ index: i, out: { bfn: hex, note: 'a "quoted"\tnote' } });
    case 8: // a Map (JSON.stringify writes {}): falls back
      return report({ index: i, out: { m: new Map([[1, 2]]) as unknown as string } });
    case 9: // a line near the room an encoded line may take (4096 bytes): sometimes written, sometimes not
      return report({ index: i, out: { blob: 'x'.repeat(3000 + ((i * 37) % 2500)) } });
    case 10: // fractions and non-finite numbers
      return report({ index: i, rc: i % 2 ? Number.NaN : 0.5, out: { r: 1 / 3 } });
    default: // the common shape (op/caller/errno/keys may be non-ASCII: quoted bytes)
      return report({
        index: i,
        op: i % 4 ? 'iommu.map_page' : 'grant.map_ünmap',
        caller: i % 3 ? 'dom0' : 'vm-\u{1f600}',
        rc: -(i % 3),
        errno: i % 3 ? 'EAGAIN' : 'OK',
        status: -(i % 3),
        out: { bfn: hex, mfn: `0x${i.toString(16)}`, n: -i, z: -0, ok: i % 2 === 0, none: null, [`k${i % 13}`]: i },
      });
  }
}

describe('LineChunks', () => {
  it('writes every line once, in order, in chunks of at most 64 KiB (longer lines whole)', async () => {
    const chunks: string[] = [];
    const lc = new LineChunks(async (c) => void chunks.push(utf8(c)));
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(`{"index":${i},"owner":"vm-é-${'ß'.repeat(i % 7)}-\u{1f600}"}`);
    lines.push('x'.repeat(200_000)); // longer than a chunk
    lines.push('', 'last');
    for (const l of lines) lc.line(l);
    await lc.flush();
    expect(chunks.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) if (!c.includes('x'.repeat(1000))) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(1 << 16);
  });

  it('runs one write at a time, and reports a backlog until it is written', async () => {
    let running = 0;
    let maxRunning = 0;
    const release: (() => void)[] = [];
    const lc = new LineChunks(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => release.push(r));
      running--;
    });
    for (let i = 0; i < 3000; i++) lc.line('y'.repeat(100)); // ~300 KB: several chunks
    let done = false;
    const all = lc.flush().then(() => {
      done = true;
    });
    expect(lc.backlog(1000)).toBeInstanceOf(Promise);
    expect(lc.backlog(10 << 20)).toBeUndefined();
    // release the writes one by one, as a slow reader would
    while (!done) {
      await new Promise((r) => setTimeout(r, 1));
      release.shift()?.();
    }
    await all;
    expect(maxRunning).toBe(1);
    expect(lc.backlog(0)).toBeUndefined();
  });

  it('with reuse, fills a written buffer again — never one whose write has not settled', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++) lines.push(`{"index":${i},"pad":"${'z'.repeat(i % 50)}"}`);
    const run = async (reuse: boolean, hold: boolean) => {
      const written: string[] = [];
      const buffers = new Set<ArrayBufferLike>();
      let handed = 0;
      const lc = new LineChunks(async (c) => {
        handed++;
        buffers.add(c.buffer);
        const copy = utf8(c);
        // a slow writer: the chunk must not change while its write is pending
        if (hold) await new Promise((r) => setTimeout(r, 0));
        expect(utf8(c)).toBe(copy);
        written.push(copy);
      }, reuse);
      for (const [i, l] of lines.entries()) {
        lc.line(l);
        if (i % 3000 !== 0) continue;
        if (hold) {
          // go on filling buffers while the writes started here are still pending
          void lc.flush();
          await new Promise((r) => setTimeout(r, 0));
        } else await lc.flush(); // as a run does between chunks of its input
      }
      await lc.flush();
      expect(written.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
      return { handed, buffers: buffers.size };
    };
    const fresh = await run(false, false);
    expect(fresh.buffers).toBe(fresh.handed);
    const reused = await run(true, false);
    expect(reused.handed).toBe(fresh.handed);
    expect(reused.buffers).toBeLessThan(reused.handed / 2);
    await run(true, true);
  });

  it('a failed write rejects the flush that waits for it', async () => {
    const lc = new LineChunks(async () => {
      throw new Error('disk full');
    });
    lc.line('a');
    await expect(lc.flush()).rejects.toThrow('disk full');
  });

  it('buffers pass through memoryIo and atomic --output as UTF-8 text', async () => {
    const m = memoryIo();
    m.io.stdout.write(Buffer.from('héllo\n'));
    m.io.stdout.write('plain\n');
    expect(m.stdout()).toBe('héllo\nplain\n');
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-chunks-'));
    const out = await openOutputAtomic(join(dir, 'o.jsonl'), []);
    const lc = new LineChunks((c) => out.write(c));
    for (let i = 0; i < 20000; i++) lc.line(`{"i":${i},"s":"ü"}`);
    await lc.flush();
    await out.write('{"summary":1}\n');
    await out.commit();
    const text = readFileSync(join(dir, 'o.jsonl'), 'utf8').split('\n');
    expect(text.length).toBe(20002);
    expect(text[19999]).toBe('{"i":19999,"s":"ü"}');
    expect(text[20000]).toBe('{"summary":1}');
  });

  it('encoded writes the same bytes as line(callReportJson(c)), in order, across chunk boundaries', async () => {
    const chunks: Uint8Array[] = [];
    const refChunks: Uint8Array[] = [];
    // chunks kept as handed over: a buffer written to after being handed to `write` would show
    const lc = new LineChunks(async (c) => void chunks.push(c));
    const ref = new LineChunks(async (c) => void refChunks.push(c));
    let encodedLines = 0;
    let fallbacks = 0;
    const encode = (c: CallReport, buf: Uint8Array, pos: number, lim: number): number => {
      expect(pos).toBeGreaterThanOrEqual(0);
      expect(lim).toBeLessThan(buf.length); // room for the newline
      const end = encodeCallReport(c, buf, pos, lim);
      if (end >= 0) encodedLines++;
      else {
        fallbacks++;
        // a line well within the room kept for an encoded line is refused only for a toJSON / Map value
        const len = Buffer.byteLength(JSON.stringify(c));
        const kind = c.index % 11; // mixedReport: kinds 6 and 8 need JSON.stringify
        if (len < 4000 && kind !== 6 && kind !== 8) expect.fail(`line ${c.index} (${len} bytes) not encoded`);
      }
      return end;
    };
    const expected: string[] = [];
    const n = 30_000;
    for (let i = 0; i < n; i++) {
      const c = mixedReport(i);
      lc.encoded(c, encode, callReportJson);
      ref.line(callReportJson(c));
      expected.push(JSON.stringify(c));
      if (i % 997 === 0) {
        // plain lines in between keep their place
        const l = `{"summary":${i},"s":"ü"}`;
        lc.line(l);
        ref.line(l);
        expected.push(l);
      }
    }
    await Promise.all([lc.flush(), ref.flush()]);
    const got = Buffer.concat(chunks);
    expect(Buffer.compare(got, Buffer.concat(refChunks))).toBe(0);
    expect(got.toString('utf8')).toBe(expected.map((l) => `${l}\n`).join(''));
    // every line parses and comes in order
    const indexes = got
      .toString('utf8')
      .split('\n')
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { index?: number })
      .filter((o) => o.index !== undefined)
      .map((o) => o.index);
    expect(indexes).toEqual(Array.from({ length: n }, (_, i) => i));
    // many chunks, none over 64 KiB, both paths taken often
    expect(chunks.length).toBeGreaterThan(50);
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(1 << 16);
    expect(encodedLines).toBeGreaterThan(n / 2);
    expect(fallbacks).toBeGreaterThan(n / 6);
  });

  it('encoded falls back to a whole line longer than a chunk', async () => {
    const chunks: Uint8Array[] = [];
    const lc = new LineChunks(async (c) => void chunks.push(c));
    const long = [
      report({ index: 1, out: { owner: 'é'.repeat(100_000) } }), // 200 KB of UTF-8: longer than the room of an encoded line
      report({ index: 2, out: { blob: 'x'.repeat(150_000) } }), // plain, but longer than any chunk
      report({ index: 3, out: { blob: 'y'.repeat((1 << 16) - 200) } }), // just under a chunk
      report({ index: 4, findings: [finding], out: { s: 'z'.repeat(70_000) } }),
    ];
    const reports: CallReport[] = [];
    for (let i = 0; i < 400; i++) reports.push(mixedReport(100 + i));
    reports.splice(10, 0, long[0]!);
    reports.splice(11, 0, long[1]!); // two long ones in a row
    reports.splice(200, 0, long[2]!);
    reports.push(long[3]!); // the last line
    for (const c of reports) lc.encoded(c, encodeCallReport, callReportJson);
    await lc.flush();
    const got = Buffer.concat(chunks).toString('utf8');
    expect(got).toBe(reports.map((c) => `${JSON.stringify(c)}\n`).join(''));
    // each long line sits whole in one chunk
    for (const c of long) {
      const line = `${JSON.stringify(c)}\n`;
      expect(chunks.some((ch) => utf8(ch).includes(line))).toBe(true);
    }
  });

  it('without the newline, pieces of one document follow each other as given, encoded or not, across chunks', async () => {
    const chunks: Uint8Array[] = [];
    const lc = new LineChunks(async (c) => void chunks.push(c));
    const want: string[] = [];
    lc.line('[', false);
    want.push('[');
    for (let i = 0; i < 3000; i++) {
      const c = mixedReport(i);
      const sep = i === 0 ? '' : ',';
      lc.encoded(
        c,
        (v, buf, pos, lim) => {
          if (pos + sep.length > lim) return -1;
          if (sep) buf[pos] = 44; // ,
          return encodeCallReport(v, buf, pos + sep.length, lim);
        },
        (v) => sep + callReportJson(v),
        false,
      );
      want.push(sep + JSON.stringify(c));
    }
    lc.line(']');
    want.push(']\n');
    await lc.flush();
    expect(chunks.length).toBeGreaterThan(5);
    const got = Buffer.concat(chunks).toString('utf8');
    expect(got).toBe(want.join(''));
    expect((JSON.parse(got) as unknown[]).length).toBe(3000);
  });
});
