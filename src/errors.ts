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
