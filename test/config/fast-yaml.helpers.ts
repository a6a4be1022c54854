/**
 * The property the YAML fast path (src/config/yaml/fast.ts) must keep, shared by
 * fast-yaml.test.ts and test/fuzz/fast-yaml.fuzz.test.ts: for any text, `parseFast` either
 * declines, or `loadText` (which then takes the fast path) returns exactly what the yaml pipeline
 * (`loadTextSlow`) returns — the same documents with the same values (bigint and number told
 * apart, -0, NaN, key order, prototypes), the same positions (`toParts`: index, docRange,
 * rootLoc), the same counts, the same findings (only yaml/ambiguous-scalar and suppression/invalid
 * warnings are possible there) and the same suppressions.
 */
import { expect } from 'vitest';
import { loadText, loadTextSlow, type LoadTextResult } from '../../src/config/load.js';
import { parseFast } from '../../src/config/yaml/fast.js';
import type { YamlDocSource } from '../../src/config/yaml/source.js';

/** Where `a` and `b` differ (strict: types, Object.is for numbers, key order, prototypes), or null. */
export function strictDiff(a: unknown, b: unknown, at = '$'): string | null {
  if (typeof a !== typeof b) return `${at}: ${typeof a} vs ${typeof b}`;
  if (typeof a === 'number') return Object.is(a, b) ? null : `${at}: ${a} vs ${String(b)}`;
  if (a === null || b === null || typeof a !== 'object') return a === b ? null : `${at}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${at}: array vs not`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: prototypes differ`;
  const ka = Reflect.ownKeys(a as object);
  const kb = Reflect.ownKeys(b as object);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${at}: keys [${ka.map(String).join(', ')}] vs [${kb.map(String).join(', ')}]`;
  }
  for (const k of ka) {
    if (k === 'length' && Array.isArray(a)) continue;
    const d = strictDiff((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k], `${at}.${String(k)}`);
    if (d !== null) return d;
  }
  return null;
}

function summary(r: LoadTextResult): unknown {
  return {
    file: r.file,
    skipped: r.skipped,
    findings: r.findings,
    suppressions: r.suppressions,
    docs: r.docs.map((d) => ({
      value: d.value,
      origin: d.origin,
      file: d.source.file,
      index: d.source.index,
      parts: (d.source as YamlDocSource).toParts(),
      text: (d.source as YamlDocSource).fileText.text,
    })),
  };
}

export type Outcome = 'fast' | 'declined';

/**
 * Check the property on one text; returns whether the fast path took it. `what` names the input
 * in a failure.
 */
export function checkFast(file: string, text: string, what = file): Outcome {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const fast = parseFast(body, undefined, []);
  const slow = loadTextSlow(file, text);
  const viaLoad = loadText(file, text);
  if (fast === undefined) {
    // loadText fell back: the yaml pipeline's result, untouched
    const d = strictDiff(summary(viaLoad), summary(slow));
    if (d !== null) expect.fail(`${what}: declined, but loadText differs from the yaml pipeline at ${d}`);
    return 'declined';
  }
  // The only findings on the fast path: yaml/ambiguous-scalar warnings, and the suppression/invalid
  // ones of the suppression comments it hands to parseSuppressions.
  const other = slow.findings.filter((f) => f.rule !== 'yaml/ambiguous-scalar' && f.rule !== 'suppression/invalid');
  if (other.length > 0) {
    expect.fail(`${what}: the fast path took a file with findings: ${JSON.stringify(other.map((f) => `${f.rule}@${f.line}:${f.column} ${f.message}`))}`);
  }
  const d = strictDiff(summary(viaLoad), summary(slow));
  if (d !== null) expect.fail(`${what}: fast path differs from the yaml pipeline at ${d}\n--- text ---\n${JSON.stringify(text)}`);
  return 'fast';
}

/** Text with LF line ends turned into CRLF. */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}
