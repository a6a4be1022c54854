#!/usr/bin/env node
/**
 * The parse floors of `npm run bench`: the least work any tool must do to read the same input,
 * timed inside this process (from before the first file is listed to after the last value is
 * built; Node's start-up and the import of `yaml` are not counted).
 *
 *   node bench/floors.mjs yaml DIR     walk DIR as pviommu does (skip hidden entries and
 *                                      node_modules, *.yaml / *.yml), read every file, and parse
 *                                      it with the yaml package into JS values
 *                                      (parseAllDocuments + toJS of each document)
 *   node bench/floors.mjs jsonl FILE   read FILE in 1 MiB chunks and JSON.parse every non-blank line
 *
 * Prints one JSON line: { ms, files|lines, documents, maxRssKiB }.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

function yamlFloor(dir) {
  const t0 = performance.now();
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  let documents = 0;
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
      doc.toJS();
      documents++;
    }
  }
  return { ms: performance.now() - t0, files: files.length, documents };
}

function jsonlFloor(file) {
  const t0 = performance.now();
  const fd = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let carry = Buffer.alloc(0);
  let lines = 0;
  const parseLines = (buf, final) => {
    let start = 0;
    for (;;) {
      let nl = buf.indexOf(10, start);
      if (nl < 0) {
        if (!final) break;
        nl = buf.length;
      }
      if (nl > start) {
        const text = buf.toString('utf8', start, nl);
        if (text.trim()) {
          JSON.parse(text);
          lines++;
        }
      }
      start = nl + 1;
      if (start >= buf.length) break;
    }
    return start >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(start));
  };
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    carry = parseLines(carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n), false);
  }
  if (carry.length) parseLines(carry, true);
  closeSync(fd);
  return { ms: performance.now() - t0, lines };
}

const [kind, target] = process.argv.slice(2);
let r;
if (kind === 'yaml') r = yamlFloor(target);
else if (kind === 'jsonl') r = jsonlFloor(target);
else {
  console.error('usage: node bench/floors.mjs yaml DIR | jsonl FILE');
  process.exit(2);
}
console.log(JSON.stringify({ ...r, maxRssKiB: process.resourceUsage().maxRSS }));
