/** Findings as every output writes them. */
import type { Finding } from './types.js';

/**
 * `f` with its keys in the order every finding has them (SPEC §6.1: rule, severity, message, the
 * span, host, subject, related), for a finding completed after it was made (a host found for it,
 * an end given to a hand-made report's); the same input then gives byte-identical output.
 */
export function orderedFinding(f: Finding): Finding {
  const { rule, severity, message, file, line, column, endLine, endColumn, host, subject, related } = f;
  const g: Finding = { rule, severity, message, file, line, column, endLine, endColumn };
  if (host !== undefined) g.host = host;
  if (subject) g.subject = subject;
  if (related) g.related = related;
  return g;
}
