/**
 * What the trace generators share: a JSON Lines file written in 1 MiB pieces, and their command
 * line (`node bench/gen/X.mjs OUT.jsonl [--calls N] [--seed N]`).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** A JSON Lines writer: `line(obj)` appends one, `close()` flushes and returns the bytes written. */
export function jsonlWriter(file) {
  const fd = openSync(file, 'w');
  let buf = '';
  let bytes = 0;
  return {
    line(obj) {
      buf += JSON.stringify(obj) + '\n';
      if (buf.length > 1 << 20) {
        bytes += writeSync(fd, buf);
        buf = '';
      }
    },
    close() {
      if (buf) bytes += writeSync(fd, buf);
      closeSync(fd);
      return bytes;
    },
  };
}

/** Run `generate(out, { calls, seed })` from a command line; prints its result as JSON. */
export function generatorCli(script, generate, argv) {
  const out = argv[0];
  if (!out || out.startsWith('-')) {
    console.error(`usage: node bench/gen/${script} OUT.jsonl [--calls N] [--seed N]`);
    process.exit(2);
  }
  const o = {};
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '--calls') o.calls = Number(argv[++i]);
    else if (argv[i] === '--seed') o.seed = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  console.log(JSON.stringify({ file: out, ...generate(out, o) }));
}
