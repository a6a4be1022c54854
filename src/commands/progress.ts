/**
 * Progress on stderr for work longer than about a second — only on a TTY, never with --quiet,
 * never on stdout (machine formats stay clean).
 */
import type { Io } from './io.js';

export interface Progress {
  update(what: string, done: number, total: number): void;
  done(): void;
}

export function progressReporter(io: Io, quiet: boolean, delayMs = 1000): Progress | undefined {
  if (quiet || !io.stderr.isTTY) return undefined;
  const start = Date.now();
  let shown = false;
  let last = 0;
  return {
    update(what, done, total) {
      const now = Date.now();
      if (now - start < delayMs || now - last < 100) return;
      last = now;
      shown = true;
      io.stderr.write(`\r\x1b[2K${what}: ${done}${total ? `/${total}` : ''}`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}
