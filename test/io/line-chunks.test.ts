/** LineChunks: lines encoded into buffers, written in order, one write at a time, with backpressure. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineChunks, memoryIo } from '../../src/commands/io.js';
import { openOutputAtomic } from '../../src/report/write.js';

const utf8 = (c: Uint8Array) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8');

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
});
