/**
 * The scenario runner: a list of calls (a Scenario's `calls`, or a JSON Lines trace) run in order
 * against one machine, each with its `expect` checked, then the end-of-scenario checks
 * (`mapping/dangling`, `mapping/leaked-pin`). SPEC §2.4, §4, §5.3, §6.2.
 *
 * A call: `op`, optional `caller` (domain name or domid; default the hardware domain), optional
 * `expect`, and the op's arguments. Arguments that cannot be encoded in the hypercall are a
 * `schema/invalid` finding at their node and the call is not made (its result is −EINVAL); see
 * args.ts for the line between findings and errnos.
 */
import type { Finding, Location, Related, Severity, SeverityOrOff, Subject } from '../policy/types.js';
import type { NodePart, PathSeg } from '../config/source.js';
import type { HostConfig, ScenarioCfg } from '../config/validate.js';
import { getRule } from '../policy/registry.js';
import { buildMachine } from '../model/build.js';
import type { DomId, DomainModel, Machine, PageInfo } from '../model/types.js';
import { DOMID_XEN } from '../model/types.js';
import { contextsReaching } from '../model/iommu.js';
import { pageAt, segments } from '../model/pages.js';
import { domainNamed } from '../model/names.js';
import { ExtentMap, constant } from '../model/extents.js';
import { hex, parseFrame, toBigInt } from '../config/units.js';
import { closest } from '../util/suggest.js';
import { ArgReader, asObject, COMMON_KEYS, fastFrame, type OutputLookup } from './args.js';
import { ScannedCall, shareStrings } from './scan.js';
import { errnoName, gntstName, parseStatus, fail, NO_OUT } from './errno.js';
import { domainName, ownerName, stateOf, type RawFrame } from './mm.js';
import type { Abi, CallReport, CallResult, EmulateReport, EmulateSummary, OpContext, OpSpec, Out, OutValue, RawCall, ReportExtra } from './types.js';
import { MEMORY_OPS } from './memory.js';
import { GRANT_OPS } from './grant.js';
import { DOMCTL_OPS } from './domctl.js';
import { XS_OPS } from './pv-iommu-xs.js';
import { TA_OPS, TA_UNSUPPORTED_OPS } from './pv-iommu-ta.js';
import { DMA_OPS } from './dma.js';

/** Every op the emulator knows, by name. */
export const OPS: ReadonlyMap<string, OpSpec<any>> = new Map(
  ([...MEMORY_OPS, ...GRANT_OPS, ...DOMCTL_OPS, ...XS_OPS, ...TA_OPS, ...TA_UNSUPPORTED_OPS, ...DMA_OPS] as OpSpec<any>[]).map((s) => [s.name, s]),
);
const OP_NAMES = [...OPS.keys()];
// (The trace reader hands out these strings themselves for the same text.)
shareStrings([...OP_NAMES, ...COMMON_KEYS, ...[...OPS.values()].flatMap((s) => [...s.keys])]);

export interface RunOptions {
  /** The PV-IOMMU ABI in force (default: the scenario's `abi`, else the host's). */
  abi?: Abi;
  /** Keep every call's findings in the final list (default true); counts are kept either way. */
  keepCallFindings?: boolean;
  /** Severities of rules as the project config gives them (`off`: the rule's findings are not made). */
  severities?: Readonly<Record<string, SeverityOrOff>>;
}

export interface RunResult {
  /** All findings of the run (calls' and end-of-run ones; calls' only with keepCallFindings). */
  findings: Finding[];
  summary: EmulateSummary;
}

function isMachine(x: HostConfig | Machine): x is Machine {
  return (x as Machine).domains instanceof Map;
}

/** The host config with the PV-IOMMU ABI replaced (a scenario's `abi:`). */
export function withAbi(hc: HostConfig, abi: Abi): HostConfig {
  if (hc.host.pv_iommu.abi === abi) return hc;
  return { ...hc, host: { ...hc.host, pv_iommu: { ...hc.host.pv_iommu, abi } } };
}

/**
 * Run one Scenario on a fresh machine built from its host (with the scenario's `abi`), and report
 * it as SPEC §6.2's JSON document. Given a Machine, its host config is rebuilt afresh (a scenario
 * never sees another run's state).
 */
export function runScenario(
  hostOrMachine: HostConfig | Machine,
  scenario: ScenarioCfg,
  opts: RunOptions & {
    /**
     * A machine freshly built from this host config that nothing has changed yet (e.g. only read
     * by the static rules): used instead of a new build when it has the scenario's ABI. The run
     * changes it.
     */
    unused?: Machine;
  } = {},
): EmulateReport {
  const hc = isMachine(hostOrMachine) ? hostOrMachine.hc : hostOrMachine;
  const abi: Abi = opts.abi ?? scenario.abi ?? hc.host.pv_iommu.abi;
  const u = opts.unused;
  const machine = u !== undefined && u.hc === hc && u.pvIommu.abi === abi ? u : buildMachine(withAbi(hc, abi));
  const session = new Session(machine, { abi, scenario: scenario.name, subject: { kind: 'Scenario', name: scenario.name }, keepCallFindings: opts.keepCallFindings ?? true, fallback: scenario.src.locate([]), severities: opts.severities });
  const calls: CallReport[] = [];
  scenario.calls.forEach((call, i) => {
    calls.push(session.run({ call, locate: (p, part) => scenario.src.locate(['calls', i, ...(p ?? [])], part) }));
  });
  const end = session.finish();
  return { version: 1, scenario: scenario.name, host: hc.host.name, abi, calls, findings: end.findings, summary: end.summary };
}

/**
 * Streaming: run `calls` in order on `machine` (used as is: build it fresh), handing each call's
 * report to `onCall` as soon as it is done; then the end-of-run checks. Returns every finding and
 * the summary.
 */
export function runCalls(
  machine: Machine,
  calls: Iterable<RawCall>,
  onCall: (result: CallReport) => void,
  opts: RunOptions & { scenario?: string; subject?: Subject; fallback?: Location } = {},
): RunResult {
  const session = new Session(machine, {
    abi: opts.abi ?? machine.pvIommu.abi,
    scenario: opts.scenario ?? 'calls',
    subject: opts.subject,
    keepCallFindings: opts.keepCallFindings ?? true,
    fallback: opts.fallback,
    severities: opts.severities,
  });
  for (const c of calls) onCall(session.run(c));
  return session.finish();
}

interface SessionOptions {
  abi: Abi;
  scenario: string;
  subject?: Subject;
  keepCallFindings: boolean;
  severities?: Readonly<Record<string, SeverityOrOff>>;
  /** Where end-of-run findings without a call of their own point. */
  fallback?: Location;
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]) as readonly Finding[];

/** One run: the machine, the ABI, the results so far (for bfn_of / mfn_of) and the counters. */
export class Session {
  readonly machine: Machine;
  readonly abi: Abi;
  private readonly opts: SessionOptions;
  private index = 0;
  private bfns = new Float64Array(1024);
  private mfns = new Float64Array(1024);
  /** Each call's op and errno, as an index into `outcomes` (4 bytes a call, not two references). */
  private outcomeOf = new Uint32Array(1024);
  private readonly outcomes: { op: string; errno: string }[] = [];
  /** op → the indexes in `outcomes` of its errnos so far. */
  private readonly outcomeIds = new Map<string, number[]>();
  readonly findings: Finding[] = [];
  readonly summary: EmulateSummary = { calls: 0, errors: 0, warnings: 0, failed_expectations: 0 };
  private readonly earlier: OutputLookup;
  // The call being run (the session is reused call after call: no per-call closures).
  private cur: RawCall | undefined;
  private curFound: Finding[] | undefined;
  private curOp = '';
  private curCaller = '';
  private readonly origin: { index: number; locate(path?: readonly PathSeg[], part?: NodePart): Location };
  private readonly ctx: OpContext;
  private reader: ArgReader | undefined;
  private readonly addFn: (rule: string, message: string, path?: readonly PathSeg[], related?: Related[], part?: NodePart) => void;

  constructor(machine: Machine, opts: SessionOptions) {
    this.machine = machine;
    this.abi = opts.abi;
    this.opts = opts;
    this.addFn = (rule, message, path, related, part) => this.add(rule, message, path, related, part);
    this.origin = { index: 0, locate: (p, part) => this.cur!.locate(p, part) };
    this.ctx = {
      machine,
      caller: undefined as unknown as DomainModel,
      abi: opts.abi,
      origin: this.origin,
      report: (rule: string, message: string, extra?: ReportExtra) => {
        const related = extra?.related?.map((r): Related => {
          const l = r.location ?? this.cur!.locate(r.path);
          return { file: l.file, line: l.line, column: l.column, message: r.message };
        });
        this.add(rule, message, extra?.path, related);
      },
    };
    this.earlier = (kind, idx) => {
      // the call being run is this.origin.index (run() has already moved this.index past it)
      const cur = this.origin.index;
      if (idx === cur) return `call #${idx} is this call, which has no results yet; refer to an earlier call`;
      if (idx > cur) return `call #${idx} has not run yet (this is call #${cur}); refer to an earlier call`;
      const v = (kind === 'bfn' ? this.bfns : this.mfns)[idx]!;
      if (v === Infinity) {
        const { op } = this.outcomes[this.outcomeOf[idx]!]!;
        return `call #${idx} (${op}) gave an out.${kind} past the 52-bit frame space, which no call can take`;
      }
      if (Number.isNaN(v)) {
        const { op, errno } = this.outcomes[this.outcomeOf[idx]!]!;
        const why = errno !== 'OK' ? ` (it returned ${errno})` : '';
        return `call #${idx} (${op}) has no out.${kind}${kind === 'mfn' ? ' or out.mfns' : ''}${why}`;
      }
      return v;
    };
  }

  /** Run one call and return its report. */
  run(raw: RawCall): CallReport {
    const index = this.index++;
    this.cur = raw;
    this.curFound = undefined;
    this.origin.index = index;
    const result = this.execute(raw, index);
    const op = this.curOp;
    this.record(index, op, result);
    const found = this.curFound ?? (NO_FINDINGS as Finding[]);
    const rep: CallReport = result.statuses
      ? { index, op, caller: this.curCaller, rc: result.rc, errno: result.errno, status: result.status, statuses: result.statuses, errnos: result.errnos ?? result.statuses.map(errnoName), out: result.out, findings: found }
      : { index, op, caller: this.curCaller, rc: result.rc, errno: result.errno, status: result.status, out: result.out, findings: found };
    return this.count(rep);
  }

  /** Add a finding to the current call. */
  private add(rule: string, message: string, path?: readonly PathSeg[], related?: Related[], part?: NodePart): void {
    if (this.opts.severities?.[rule] === 'off') return;
    const f = this.finding(rule, message, this.cur!.locate(path, part), related);
    (this.curFound ??= []).push(f);
  }

  /** A call that could not even be read (e.g. a trace line that is not JSON): schema/invalid, −EINVAL. */
  invalid(raw: RawCall, message: string): CallReport {
    const index = this.index++;
    const result = fail('EINVAL');
    this.record(index, '', result);
    const found = this.opts.severities?.['schema/invalid'] === 'off' ? (NO_FINDINGS as Finding[]) : [this.finding('schema/invalid', message, raw.locate())];
    return this.count({ index, op: '', caller: '', rc: result.rc, errno: result.errno, status: result.status, out: result.out, findings: found });
  }

  private count(rep: CallReport): CallReport {
    this.summary.calls++;
    // (An index loop: `for…of` made an iterator for every call, nearly all with no findings.)
    const found = rep.findings;
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!;
      if (f.severity === 'error') this.summary.errors++;
      else if (f.severity === 'warning') this.summary.warnings++;
      if (f.rule === 'scenario/expectation-failed') this.summary.failed_expectations++;
      if (this.opts.keepCallFindings) this.findings.push(f);
    }
    return rep;
  }

  private execute(raw: RawCall, index: number): CallResult {
    const m = this.machine;
    const add = this.addFn;
    this.curOp = '';
    this.curCaller = '';
    // A trace line read by the fast reader, or a mapping (a Scenario's call, a JSON.parse'd line).
    const sc = raw.call instanceof ScannedCall ? raw.call : undefined;
    const call = sc === undefined ? asObject(raw.call) : undefined;
    if (sc === undefined && call === undefined) {
      add('schema/invalid', `call #${index} must be a mapping with \`op\` and the op's arguments`);
      return fail('EINVAL');
    }
    const args = sc ?? call!;
    const opName = sc !== undefined ? sc.get('op') : call!.op;
    const spec = typeof opName === 'string' ? OPS.get(opName) : undefined;
    // The caller (default: the hardware domain).
    let caller: DomainModel | undefined;
    const callerArg = sc !== undefined ? sc.get('caller') : call!.caller;
    if (callerArg !== undefined && callerArg !== null) {
      caller = this.resolveCaller(callerArg);
      this.curCaller = caller?.name ?? String(callerArg);
      if (!caller) {
        const hint = typeof callerArg === 'string' ? closest(callerArg, [...m.domains.values()].map((d) => d.name)) : undefined;
        add('ref/unknown', `call #${index} has caller ${JSON.stringify(callerArg)}, which is not a domain on host ${m.host.name}${hint ? ` — did you mean \`${hint}\`?` : ''}`, ['caller']);
      }
    } else {
      caller = m.hwdom !== undefined ? m.domains.get(m.hwdom) : undefined;
      this.curCaller = caller?.name ?? '';
      if (!caller) add('schema/invalid', `call #${index} has no \`caller\` and host ${m.host.name} has no hardware domain to default to; name the caller`, []);
    }
    if (!spec) {
      if (typeof opName !== 'string') add('schema/invalid', `call #${index} needs \`op\`, one of the emulated operations (${OP_NAMES.join(', ')})`, opName === undefined ? [] : ['op']);
      else {
        const hint = closest(opName, OP_NAMES);
        add('schema/invalid', `unknown op ${JSON.stringify(opName)}${hint ? ` — did you mean \`${hint}\`?` : `; known ops: ${OP_NAMES.join(', ')}`}`, ['op']);
      }
      this.curOp = typeof opName === 'string' ? opName : '';
      return fail(typeof opName === 'string' ? 'ENOSYS' : 'EINVAL');
    }
    this.curOp = spec.name;
    // Arguments.
    const reader = (this.reader ??= new ArgReader(m, args, spec.name)).reset(args, spec.name);
    reader.earlier = this.earlier;
    const parsed = spec.parse(reader);
    reader.finish(spec.keys);
    const expect = sc !== undefined ? sc.get('expect') : call!.expect;
    if (expect !== undefined && !asObject(expect)) reader.bad(['expect'], '`expect` must be a mapping of results (rc, status, statuses, errno, or named outputs)');
    let invalid = false;
    const issues = reader.issues;
    for (let i = 0; i < issues.length; i++) {
      const is = issues[i]!;
      add(is.rule, is.message, is.path, undefined, is.part);
      if (is.rule === 'schema/invalid') invalid = true;
    }
    let result: CallResult;
    if (!caller) result = fail('ESRCH');
    else if (caller.destroyed) result = fail('ESRCH'); // a destroyed domain makes no more hypercalls
    else if (invalid) result = fail('EINVAL');
    else {
      const ctx = this.ctx;
      ctx.caller = caller;
      result = spec.run(ctx, parsed);
    }
    const exp = asObject(expect);
    if (exp) this.checkExpect(spec.name, index, exp, result, add);
    return result;
  }

  private resolveCaller(v: unknown): DomainModel | undefined {
    const m = this.machine;
    if (typeof v === 'number') return m.domains.get(v);
    if (typeof v === 'string') {
      const f = fastFrame(v.trim());
      if (f !== undefined) return m.domains.get(f);
      return domainNamed(m, v);
    }
    return undefined;
  }

  /** Remember out.bfn / out.mfn of this call (for bfn_of / mfn_of). */
  private record(index: number, op: string, r: CallResult): void {
    if (index >= this.bfns.length) {
      const n = this.bfns.length * 2;
      this.bfns = grown(new Float64Array(n), this.bfns);
      this.mfns = grown(new Float64Array(n), this.mfns);
      this.outcomeOf = grown(new Uint32Array(n), this.outcomeOf);
    }
    const out = r.out;
    if (out === NO_OUT) {
      this.bfns[index] = NaN;
      this.mfns[index] = NaN;
    } else {
      this.bfns[index] = frameOut(firstOut(out, 'bfn'));
      const mfn = firstOut(out, 'mfn');
      this.mfns[index] = frameOut(mfn !== undefined ? mfn : firstOut(out, 'mfns'));
    }
    this.outcomeOf[index] = this.outcome(op, r.errno);
  }

  /** The index of (op, errno) in `outcomes` (added when new). */
  private outcome(op: string, errno: string): number {
    let ids = this.outcomeIds.get(op);
    if (ids === undefined) this.outcomeIds.set(op, (ids = []));
    for (let i = 0; i < ids.length; i++) if (this.outcomes[ids[i]!]!.errno === errno) return ids[i]!;
    const id = this.outcomes.length;
    this.outcomes.push({ op, errno });
    ids.push(id);
    return id;
  }

  private finding(rule: string, message: string, loc: Location, related?: Related[]): Finding {
    const o = this.opts.severities?.[rule];
    const severity: Severity = o !== undefined && o !== 'off' ? o : (getRule(rule)?.severity ?? 'error');
    const f: Finding = { rule, severity, message, ...loc, host: this.machine.host.name };
    if (this.opts.subject) f.subject = this.opts.subject;
    if (related && related.length) f.related = related;
    return f;
  }

  // -------------------------------------------------------------------------------------------
  // Expectations.

  private checkExpect(op: string, index: number, exp: Record<string, unknown>, r: CallResult, add: (rule: string, message: string, path?: readonly PathSeg[]) => void): void {
    const grant = op.startsWith('grant.');
    const name = (s: number) => (grant ? gntstName(s) : errnoName(s));
    const miss = (key: string, want: string, got: string) =>
      add('scenario/expectation-failed', `call #${index} (${op}): expected ${key} ${want}, got ${got}`, ['expect', key]);
    for (const key of Object.keys(exp)) {
      const want = exp[key];
      switch (key) {
        case 'rc': {
          const w = expectedNumber(want);
          if (w === undefined) add('schema/invalid', `\`expect.rc\` must be a number or an error name (EPERM, -1), not ${JSON.stringify(want)}`, ['expect', key]);
          else if (w !== r.rc) miss('rc', showStatus(w, name), showStatus(r.rc, name));
          break;
        }
        case 'status':
        case 'errno': {
          const w = parseStatus(want);
          if (w === undefined) add('schema/invalid', `\`expect.${key}\` ${JSON.stringify(want)} is not an error code (write EPERM, -1, GNTST_bad_handle or OK)`, ['expect', key]);
          // a name of the other kind (EINTR for a grant op's GNTST -4) is not the result, whatever its number
          else if (w !== r.status || otherKindOfName(want, grant)) miss(key, otherKindOfName(want, grant) ? String(want).trim() : w === 0 ? 'OK' : showStatus(w, name), r.status === 0 ? 'OK' : showStatus(r.status, name));
          break;
        }
        case 'statuses':
        case 'errnos': {
          if (!Array.isArray(want)) {
            add('schema/invalid', `\`expect.${key}\` must be a list of error codes`, ['expect', key]);
            break;
          }
          const ws = want.map((x) => parseStatus(x));
          const badAt = ws.findIndex((x) => x === undefined);
          if (badAt >= 0) {
            add('schema/invalid', `\`expect.${key}[${badAt}]\` ${JSON.stringify(want[badAt])} is not an error code`, ['expect', key, badAt]);
            break;
          }
          const got = r.statuses ?? [];
          if (ws.length !== got.length || ws.some((x, i) => x !== got[i] || otherKindOfName(want[i], grant))) {
            miss(key, `[${(ws as number[]).map((x) => name(x)).join(', ')}]`, `[${got.map((x) => name(x)).join(', ')}]`);
          }
          break;
        }
        default: {
          // (An output of that name: not a member every object has, such as `toString`.)
          const got = Object.hasOwn(r.out, key) ? r.out[key] : undefined;
          if (got === undefined) {
            miss(key, show(FRAME_OUTPUTS.has(key) ? asFrames(want) : want), `no output \`${key}\` (outputs: ${Object.keys(r.out).join(', ') || 'none'}; ${r.errno})`);
          } else if (!sameValue(want, got, this.machine)) {
            miss(key, show(likeGot(want, got)), show(got));
          }
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // End of run.

  /** The end-of-run checks; returns all findings and the final summary. */
  finish(): RunResult {
    const off = this.opts.severities;
    const end = [...this.danglingFindings(), ...this.leakedPinFindings()].filter((f) => off?.[f.rule] !== 'off');
    for (const f of end) {
      if (f.severity === 'error') this.summary.errors++;
      else if (f.severity === 'warning') this.summary.warnings++;
      this.findings.push(f);
    }
    return { findings: this.findings, summary: this.summary };
  }

  private here(at: Location | undefined): Location {
    return at ?? this.opts.fallback ?? { file: '', line: 1, column: 1, endLine: 1, endColumn: 1 };
  }

  /** mapping/dangling: raw frames (translate results, no_ref_cnt mappings) whose page was freed or changed hands. */
  private danglingFindings(): Finding[] {
    const m = this.machine;
    const st = stateOf(m);
    const byCall = new Map<string, { at?: Location; index?: number; lines: string[] }>();
    const line = (x: RawFrame, what: string) => {
      const k = String(x.index ?? -1);
      let g = byCall.get(k);
      if (!g) byCall.set(k, (g = { at: x.at, index: x.index, lines: [] }));
      g.lines.push(what);
    };
    // What became of the pages: 'is now free' / 'now belongs to …' (undefined: still as handed out).
    const fate = (then: DomId | undefined, p: PageInfo | undefined, many: boolean): string | undefined => {
      if (then !== undefined && then !== DOMID_XEN && !p) return many ? 'are now free' : 'is now free';
      const now = p?.owner;
      if (now !== undefined && now !== then) return `now belong${many ? '' : 's'} to ${ownerName(m, now)}`;
      return undefined;
    };
    // A frame handed out twice by one call is reported once. Records come in call order, so only
    // the records of the same call are compared: the frames (translate) and BFN → MFN mappings
    // (no_ref_cnt) already reported for the current call.
    const raw = st.raw;
    let seenFrames: ExtentMap<true> | undefined;
    let seenMaps: Set<string> | undefined;
    let call: number | undefined;
    let live: Set<number> | undefined;
    for (let r = 0; r < raw.length; r++) {
      const c = raw.callOf(r);
      if (r === 0 || c !== call) {
        seenFrames = undefined; // a new call
        seenMaps = undefined;
      }
      call = c;
      // Most runs are one frame whose page is as it was: one look-up, no record.
      const one = raw.singleTranslated(r);
      if (one >= 0 && fate(raw.ownerOf(r), m.pages.raw(one), false) === undefined) continue;
      const x = raw.at(r);
      const alone = (seenFrames === undefined && seenMaps === undefined) && !(r + 1 < raw.length && raw.callOf(r + 1) === x.index);
      if (x.kind === 'no_ref_cnt') {
        // Only while the mapping this call made is still there: the last made at its BFN.
        if (!(live ??= raw.lastNoRef()).has(r)) continue;
        const e = x.ctx?.table.lookup(x.bfn!);
        if (!e || e.base !== x.mfn || !e.noRef) continue;
        if (!alone) {
          const key = `${x.mfn}:${x.bfn}`;
          if ((seenMaps ??= new Set<string>()).has(key)) continue;
          seenMaps.add(key);
        }
        const p = pageAt(m, x.mfn);
        const state = fate(x.owner, p, false);
        if (!state) continue;
        const was = x.owner === undefined ? 'nobody' : ownerName(m, x.owner);
        line(x, `BFN ${hex(x.bfn!)} of ${x.ctx!.id} → MFN ${hex(x.mfn)} (${was}'s when mapped) ${state}`);
        continue;
      }
      // translate: the run, cut where the pages' fate changes.
      const last = x.mfn + x.count - 1;
      const pieces: { start: number; end: number; state: string }[] = [];
      for (const sg of segments(m.pages, x.mfn, last)) {
        const many = sg.end > sg.start;
        const state = fate(x.owner, sg.value, many);
        if (!state) continue;
        if (alone) {
          pieces.push({ start: sg.start, end: sg.end, state });
          continue;
        }
        seenFrames ??= new ExtentMap<true>(constant);
        for (const g of [...seenFrames.gaps(sg.start, sg.end)]) {
          pieces.push({ start: g.start, end: g.end, state: fate(x.owner, sg.value, g.end > g.start)! });
        }
        seenFrames.set(sg.start, sg.end, true);
      }
      const dom = domainName(m, x.domid!);
      for (const pc of pieces) {
        const gfn = x.gfn! + (pc.start - x.mfn);
        line(
          x,
          pc.end === pc.start
            ? `MFN ${hex(pc.start)} (${dom}'s gfn ${hex(gfn)} when translated) ${pc.state}`
            : `MFNs ${hex(pc.start)}-${hex(pc.end)} (${dom}'s gfns ${hex(gfn)}-${hex(gfn + (pc.end - pc.start))} when translated) ${pc.state}`,
        );
      }
    }
    const out: Finding[] = [];
    for (const g of byCall.values()) {
      const which = g.index !== undefined ? `call #${g.index}` : 'a call';
      const shown = g.lines.slice(0, 4).join('; ') + (g.lines.length > 4 ? `; and ${g.lines.length - 4} more` : '');
      out.push(
        this.finding(
          'mapping/dangling',
          `${which} handed out a frame without a page reference, and at the end it is stale: ${shown}. A device using it now reaches memory that is not the intended page; hold a reference (PV-IOMMU lookup_foreign_page / map_foreign_page, map_page without no_ref_cnt, grant maps)`,
          this.here(g.at),
        ),
      );
    }
    return out;
  }

  /** mapping/leaked-pin: pages of destroyed domains still held by references at the end. */
  private leakedPinFindings(): Finding[] {
    const m = this.machine;
    const st = stateOf(m);
    const out: Finding[] = [];
    for (const dd of st.destroyed) {
      const held: { start: number; end: number; refs: number; pinned: boolean }[] = [];
      for (const e of m.pages.entries()) {
        if (e.value.owner === dd.domid && (e.value.refs > 0 || e.value.pinned)) held.push({ start: e.start, end: e.end, refs: e.value.refs, pinned: e.value.pinned });
      }
      // xs foreign pins are taken for the hardware domain: destroying it leaves them behind.
      if (dd.domid === m.hwdom) {
        let pinned = 0;
        let firstPinned: number | undefined;
        for (const e of m.pages.entries()) {
          if (e.value.pinned && e.value.owner !== dd.domid) {
            pinned += e.end - e.start + 1;
            firstPinned ??= e.start;
          }
        }
        if (pinned) {
          out.push(
            this.finding(
              'mapping/leaked-pin',
              `${dd.name} was destroyed with ${pinned} PV-IOMMU foreign pin${pinned === 1 ? '' : 's'} still held for it (e.g. MFN ${hex(firstPinned!)}, ${ownerName(m, pageAt(m, firstPinned!)?.owner)}'s): nothing will ever unpin ${pinned === 1 ? 'it' : 'them'}; unmap_foreign_page before the mediator goes away`,
              this.here(dd.at),
            ),
          );
        }
      }
      if (!held.length) continue;
      let frames = 0;
      for (const h of held) frames += h.end - h.start + 1;
      const holders = new Set<string>();
      for (const h of held.slice(0, 8)) {
        for (const r of contextsReaching(m, h.start, h.end)) {
          // (grant entries hold no reference of their own: the grant mappings are listed below)
          if (r.entry?.ref) holders.add(`${r.ctx.id}'s IOMMU (${r.entry.origin} at ${r.dfn === r.dfnEnd ? `BFN ${hex(r.dfn)}` : `BFNs ${hex(r.dfn)}-${hex(r.dfnEnd)}`})`);
        }
        if (h.pinned) holders.add('a PV-IOMMU foreign pin');
        for (const [mapper, grants] of st.grants) for (const g of grants.values()) if (g.mfn >= h.start && g.mfn <= h.end) holders.add(`a grant mapping of ${domainName(m, mapper)} (handle ${g.handle})`);
        for (const d of m.domains.values()) {
          if (d.destroyed) continue;
          for (const e of d.p2m.entries()) {
            if (e.value.type !== 'map_foreign') continue;
            const base = e.value.base;
            if (h.start <= base + (e.end - e.start) && h.end >= base) holders.add(`a foreign p2m entry of ${d.name}`);
          }
        }
      }
      const first = held[0]!;
      out.push(
        this.finding(
          'mapping/leaked-pin',
          `${dd.name} was destroyed, but ${frames} of its pages ${frames === 1 ? 'is' : 'are'} still referenced (e.g. MFN ${hex(first.start)})${holders.size ? ` by ${[...holders].slice(0, 4).join(', ')}` : ''}: the memory cannot be freed and stays reachable; unmap / unpin before destroying the domain`,
          this.here(dd.at),
        ),
      );
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Value helpers.

/** `to` with the elements of `from` at its start. */
function grown<A extends Float64Array | Uint32Array>(to: A, from: A): A {
  to.set(from);
  return to;
}

/** out.key, or for a batch the first element's out.key. */
function firstOut(out: Out, key: string): OutValue | undefined {
  const v = out[key];
  if (v !== undefined) return Array.isArray(v) ? v[0] : v;
  const ops = out.ops;
  if (Array.isArray(ops)) {
    for (const o of ops) {
      const x = o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, OutValue>)[key] : undefined;
      if (x !== undefined) return Array.isArray(x) ? x[0] : x;
    }
  }
  return undefined;
}

/** An output's frame: NaN when there is none, Infinity when it is past the 52-bit frame space. */
function frameOut(v: OutValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const f = fastFrame(v);
    if (f !== undefined) return f;
    if (/^0x[0-9a-f]+$/i.test(v)) return Infinity;
  }
  return NaN;
}

function expectedNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string') {
    const b = toBigInt(v);
    if (b.ok) return Number(b.value);
    return parseStatus(v);
  }
  return undefined;
}

function showStatus(s: number, name: (s: number) => string): string {
  return s < 0 ? `${name(s)} (${s})` : String(s);
}

/**
 * An expected value written the way the output is: a frame given as a YAML number (`bfn: 0x100`
 * reads as 256) is shown in hex when the output is a hex frame, so a mismatch reads
 * "expected bfn 0x100, got 0x3f01100" rather than "expected bfn 256".
 */
function likeGot(want: unknown, got: OutValue | undefined): unknown {
  if (typeof want === 'number' && Number.isSafeInteger(want) && want >= 0 && typeof got === 'string' && /^0x/i.test(got)) return hex(want);
  if (Array.isArray(want) && Array.isArray(got)) return want.map((w, i) => likeGot(w, got[i]));
  return want;
}

/** Outputs that are frame numbers: an expectation of them is shown in hex. */
const FRAME_OUTPUTS: ReadonlySet<string> = new Set(['bfn', 'dfn', 'gfn', 'mfn', 'mfns', 'bfns', 'offset']);

function asFrames(v: unknown): unknown {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return hex(v);
  if (Array.isArray(v)) return v.map(asFrames);
  return v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An exact integer from an expected or actual value (frames compare numerically). */
function asBig(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!/^-?(0x[0-9a-f_]+|[0-9_]+)$/i.test(s)) return undefined;
    const b = toBigInt(s);
    return b.ok ? b.value : undefined;
  }
  return undefined;
}

/**
 * Does an expected value match an output? Numbers and frames compare numerically ("0x100" = 256),
 * lists element by element, mappings key by key (the expected keys only); an owner name may be
 * expected as the domain's domid.
 */
export function sameValue(want: unknown, got: OutValue, m?: Machine): boolean {
  if (Array.isArray(got)) {
    if (!Array.isArray(want) || want.length !== got.length) return false;
    return got.every((g, i) => sameValue(want[i], g, m));
  }
  if (got !== null && typeof got === 'object') {
    const w = asObject(want);
    if (!w) return false;
    return Object.keys(w).every((k) => Object.hasOwn(got, k) && got[k] !== undefined && sameValue(w[k], got[k]!, m));
  }
  if (typeof got === 'boolean' || got === null) return want === got;
  const gb = asBig(got);
  if (gb !== undefined) {
    const wb = asBig(want);
    if (wb !== undefined) return wb === gb;
    if (typeof want === 'string') {
      const p = parseFrame(want);
      return p.ok && BigInt(p.value) === gb;
    }
    return false;
  }
  if (typeof want === 'string') return want === got;
  if (typeof want === 'number' && m && typeof got === 'string') return m.domains.get(want)?.name === got;
  return false;
}

/**
 * Whether an expected status is an error name of the other kind than the op's results: a
 * GNTST_* name for an op that returns errnos, or an errno name for a grant op (GNTST_* codes).
 * Their numbers overlap (EINTR and GNTST_bad_handle are both -4), so only the name tells.
 */
function otherKindOfName(v: unknown, grant: boolean): boolean {
  if (typeof v !== 'string') return false;
  const s = v.trim().replace(/^-/, '');
  if (s === 'OK' || !/^[A-Za-z]/.test(s)) return false;
  return s.startsWith('GNTST_') !== grant;
}
