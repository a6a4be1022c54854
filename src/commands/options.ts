/** Option parsers and output plumbing shared by the commands. */
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { SeverityOrOff } from '../policy/types.js';
import { writeOutputAtomic } from '../report/write.js';
import type { Io } from './io.js';
import { ToolError } from '../errors.js';

/** `--rule ID=SEVERITY`, repeatable. */
export function collectRule(value: string, prev: Record<string, SeverityOrOff> = {}): Record<string, SeverityOrOff> {
  const m = /^([^=\s]+)=(off|info|warning|error)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected ID=off|info|warning|error, got "${value}"`);
  return { ...prev, [m[1]!]: m[2] as SeverityOrOff };
}

export function collect(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return Number(value);
}

/** Frame number option (`--gfn 0x100`). */
export function frameArg(value: string): number {
  const s = value.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new InvalidArgumentError(`expected a frame number (decimal or 0x hex), got "${value}"`);
  const n = BigInt(s);
  if (n >= 2n ** 52n) throw new InvalidArgumentError(`frame ${value} is beyond the 52-bit frame space`);
  return Number(n);
}

/** Read stdin when `-` is among the paths; refuse an interactive terminal. */
export async function stdinFor(paths: string[], io: Io): Promise<Uint8Array | undefined> {
  if (!paths.includes('-')) return undefined;
  if (io.stdinIsTTY) throw new ToolError('`-` reads the config from stdin, but stdin is a terminal; pipe a file into pviommu');
  return io.readStdin();
}

/** Write a command's result to --output (atomically) or stdout. */
export async function emit(io: Io, content: string, output: string | undefined, inputs: string[]): Promise<void> {
  if (output === undefined || output === '-') {
    io.stdout.write(content);
    return;
  }
  await writeOutputAtomic(resolve(io.cwd, output), content, inputs.filter((p) => p !== '-' && p !== '<stdin>').map((p) => resolve(io.cwd, p)));
}

/** `--shard INDEX/COUNT`, 1-based. */
export function shardArg(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected INDEX/COUNT such as 1/4, got "${value}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new InvalidArgumentError(`shard ${value}: INDEX must be between 1 and COUNT`);
  return { index, count };
}

/** `--help` ends with these command lines, as examples to copy (each one runs from the repo's root). */
export function examples(...lines: string[]): string {
  return '\nExamples:\n' + lines.map((l) => `  ${l}`).join('\n');
}
