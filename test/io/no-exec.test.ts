/**
 * No network, no execution of anything from the input (issue 7): the source neither imports the
 * modules that could do either nor evaluates strings as code, and a full run of every command
 * over the examples opens no socket and starts no process.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, ROOT } from '../cli/helpers.js';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** Source text without comments (module names in imports stay). */
function noComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:\\'"])\/\/.*$/gm, '$1');
}

/** Source text without comments and string/template contents (so prose and messages cannot match). */
function codeOnly(text: string): string {
  return noComments(text)
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
    .replace(/`(?:[^`\\]|\\.)*`/g, '``');
}

/** Checked against the source without comments (module names are strings). */
const FORBIDDEN_IMPORTS: [RegExp, string][] = [
  [/\b(from|import)\s+['"](node:)?(child_process|cluster|vm|inspector|repl|module)['"]/, 'a process / code-execution module'],
  [/\b(from|import)\s+['"](node:)?(http|https|http2|net|tls|dgram|dns)(\/promises)?['"]/, 'a network module'],
  [/\b(require|import)\s*\(\s*['"](node:)?(child_process|cluster|worker_threads|vm|http|https|http2|net|tls|dgram|dns)/, 'a process or network module'],
];

/** Checked against the code alone (no comments, no string contents). */
const FORBIDDEN: [RegExp, string][] = [
  [/\bimport\s*\(\s*[^'"\s)]/, 'a dynamic import of a computed name'],
  [/\brequire\s*\(/, 'require()'],
  [/\beval\s*\(/, 'eval'],
  [/\bnew\s+Function\s*\(|\bFunction\s*\(/, 'the Function constructor'],
  [/\bfetch\s*\(|\bWebSocket\b|\bXMLHttpRequest\b|\bEventSource\b/, 'a network API'],
  [/\bprocess\.(binding|dlopen|_linkedBinding)\b|\bcreateRequire\b/, 'native bindings'],
  [/\bsetTimeout\s*\(\s*['"`]|\bsetInterval\s*\(\s*['"`]/, 'a timer with a code string'],
];

/** The lines of bin/load-bundle.js that the next test allows: its `vm` and `createRequire`. */
function loaderLine(file: string, line: string): boolean {
  if (relative(ROOT, file).split(/[\\/]/).join('/') !== 'bin/load-bundle.js') return false;
  // (As the import reads without comments, and without string contents.)
  return /^import \{ (Script|createRequire) \} from ('node:(vm|module)'|'');$/.test(line.trim()) || /createRequire\(bundle\)/.test(line);
}

describe('the source cannot run code or reach the network', () => {
  const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bin'))];

  it('finds the source', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  for (const [re, what, view] of [...FORBIDDEN_IMPORTS.map(([r, w]) => [r, w, noComments] as const), ...FORBIDDEN.map(([r, w]) => [r, w, codeOnly] as const)]) {
    it(`no ${what}`, () => {
      const hits = files.flatMap((f) =>
        view(readFileSync(f, 'utf8'))
          .split('\n')
          .map((l, i) => [l, i] as const)
          .filter(([l]) => re.test(l) && !loaderLine(f, l))
          .map(([l, i]) => `${relative(ROOT, f)}:${i + 1}: ${l.trim()}`),
      );
      expect(hits).toEqual([]);
    });
  }

  // The one exception: bin/load-bundle.js compiles the tool's own bundle with `vm.Script` (to use
  // the code cache made at build time) and hands it a `require` of its own (`createRequire`).
  it('the bundle loader compiles only the package\'s own bundle, at a path fixed beside it', () => {
    const loader = readFileSync(join(ROOT, 'bin', 'load-bundle.js'), 'utf8');
    const code = codeOnly(loader);
    // One script compiled, from the text of the file at `bundle`, which defaults to BUNDLE…
    expect(code.match(/new Script\(/g)).toHaveLength(1);
    expect(noComments(loader)).toMatch(/export const BUNDLE = fileURLToPath\(new URL\('\.\.\/dist\/bundle\/cli\.cjs', import\.meta\.url\)\);/);
    expect(noComments(loader)).toMatch(/export function loadBundle\(useCache = true, bundle = BUNDLE, codeCache = CODE_CACHE\) \{\n\s*const bytes = readFileSync\(bundle\);/);
    // …and the command runs it with no path of anyone else's.
    expect(codeOnly(readFileSync(join(ROOT, 'bin', 'pviommu.js'), 'utf8'))).toMatch(/loadBundle\(\)\.exports\.main/);
  });

  // The loader parses on worker threads: allowed, as long as a worker runs one of the tool's own
  // modules (a URL next to the importing file), never code given as a string (`eval: true`).
  it('worker threads only run the tool\'s own modules', () => {
    for (const f of files) {
      const code = noComments(readFileSync(f, 'utf8'));
      for (const m of code.matchAll(/new\s+Worker\s*\(\s*([^,)]+)([^)]*)\)/g)) {
        const [call, arg, rest] = m;
        expect(rest, `${relative(ROOT, f)}: ${call}`).not.toMatch(/\beval\b/);
        const name = arg!.trim();
        const def = new RegExp(`\\b${name}\\s*=\\s*new URL\\(\\s*'\\./[\\w-]+\\.js'\\s*,\\s*import\\.meta\\.url\\s*\\)`);
        expect(code, `${relative(ROOT, f)}: ${call} must name new URL('./x.js', import.meta.url)`).toMatch(def);
      }
    }
  });

  it('the only runtime dependencies are the parsing / CLI libraries', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['commander', 'ignore', 'yaml', 'zod']);
  });

  it('the checker itself: these patterns are found where they occur', () => {
    expect(FORBIDDEN_IMPORTS.some(([re]) => re.test(noComments("import { spawn } from 'node:child_process';")))).toBe(true);
    expect(FORBIDDEN_IMPORTS.some(([re]) => re.test(noComments("import * as h from 'https';")))).toBe(true);
    expect(FORBIDDEN_IMPORTS.some(([re]) => re.test(noComments("// import x from 'node:net'")))).toBe(false);
    expect(FORBIDDEN.some(([re]) => re.test(codeOnly('const f = new Function("return 1");')))).toBe(true);
    expect(FORBIDDEN.some(([re]) => re.test(codeOnly("// eval(x) in a comment")))).toBe(false);
    expect(FORBIDDEN.some(([re]) => re.test(codeOnly("const m = 'do not eval(this)';")))).toBe(false);
  });
});

describe('a run opens no socket and starts no process', () => {
  const calls: string[] = [];
  const saved: (() => void)[] = [];
  const trap = <T extends object>(obj: T, key: keyof T, name: string) => {
    const orig = obj[key];
    (obj as Record<keyof T, unknown>)[key] = (...args: unknown[]) => {
      calls.push(`${name}(${JSON.stringify(args).slice(0, 100)})`);
      throw new Error(`${name} is not allowed`);
    };
    saved.push(() => void ((obj as Record<keyof T, unknown>)[key] = orig));
  };

  beforeEach(() => {
    calls.length = 0;
    trap(net.Socket.prototype, 'connect', 'net.Socket.connect');
    trap(dgram.Socket.prototype, 'send', 'dgram.send');
    trap(childProcess.ChildProcess.prototype as unknown as Record<string, unknown>, 'spawn', 'ChildProcess.spawn');
    for (const f of ['spawn', 'exec', 'execFile', 'fork', 'spawnSync', 'execSync', 'execFileSync'] as const) trap(childProcess, f, `child_process.${f}`);
    trap(globalThis, 'fetch', 'fetch');
  });
  afterEach(() => {
    while (saved.length) saved.pop()!();
  });

  it('every command over the examples and fixtures', async () => {
    const lab = join(ROOT, 'examples', 'lab');
    const runs = [
      ['check', lab, '-f', 'sarif'],
      ['check', join(ROOT, 'fixtures'), '-f', 'json'],
      ['emulate', lab, '--scenario', 'xengt-pv-iommu', '-f', 'json'],
      ['inspect', lab],
      ['translate', lab, '--domain', 'vm1', '--gfn', '0x100'],
      ['rules', '--format', 'json'],
      ['explain', 'dma/isolation'],
      ['schema'],
      ['import-xl', join(ROOT, 'fixtures', 'xl', 'hvm-passthrough.cfg')],
    ];
    for (const args of runs) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBeLessThan(2);
    }
    expect(calls).toEqual([]);
  });
});
