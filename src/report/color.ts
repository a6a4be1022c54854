/**
 * Colour for the text reporter: deciding whether to use it, and applying it.
 *
 * Reporters stay pure: they receive `color: boolean` in FormatOptions. The command decides it
 * once with `shouldColor(process.stdout, process.env)` and passes it down.
 */
import { styleText } from 'node:util';

/**
 * Should output written to `stream` be coloured?
 *
 * Precedence, first match wins (this is what Node's own `tty.getColorDepth`/`styleText` do,
 * and agrees with chalk/supports-color where both define a behaviour):
 *   1. `FORCE_COLOR` set: `0` or `false` → off; any other value (including empty, `1`, `2`, `3`,
 *      `true`) → on. An explicit FORCE_COLOR beats NO_COLOR, as in Node.
 *   2. `NO_COLOR` set and non-empty → off (https://no-color.org: an empty value is "unset").
 *   3. `NODE_DISABLE_COLORS` set and non-empty → off (Node's own switch).
 *   4. the stream is not a TTY → off (pipes, files, CI logs).
 *   5. `TERM=dumb` → off.
 *   6. otherwise on.
 */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (nonEmpty(env['NO_COLOR'])) return false;
  if (nonEmpty(env['NODE_DISABLE_COLORS'])) return false;
  if (stream.isTTY !== true) return false;
  if (env['TERM'] === 'dumb') return false;
  return true;
}

function nonEmpty(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

export type Style = (s: string) => string;

export interface Painter {
  red: Style;
  yellow: Style;
  blue: Style;
  green: Style;
  dim: Style;
  bold: Style;
  underline: Style;
}

type StyleName = keyof Painter;
const STYLE_NAMES: readonly StyleName[] = ['red', 'yellow', 'blue', 'green', 'dim', 'bold', 'underline'];

const identity: Style = (s) => s;

/**
 * Style functions. Enabled: ANSI SGR codes via `node:util` styleText, with stream validation
 * off, because the caller has already decided (`shouldColor`) and the string may go to a file.
 * Disabled: every function is the identity, so no escape code can appear.
 */
export function paint(enabled: boolean): Painter {
  const out = {} as Painter;
  for (const name of STYLE_NAMES) {
    out[name] = enabled ? (s) => styleText(name, s, { validateStream: false }) : identity;
  }
  return out;
}
