/**
 * Failures of the tool itself (exit code 2), as opposed to findings about the input (exit 1).
 * Thrown by the core, caught once in src/cli.ts and printed as one line.
 */
export class ToolError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Bad command-line usage: an unknown option, format, rule id, or a missing required option. */
export class UsageError extends ToolError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A file-system error as a short reason: Node's "ENOSPC: no space left on device, write" →
 * "no space left on device (ENOSPC)" (the call and path of the original message would only confuse).
 */
export function ioReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const m = /^([A-Z0-9_]+): ([^,]+)/.exec(err.message);
  return m !== null ? `${m[2]} (${m[1]})` : err.message;
}
