/**
 * The hypercall emulator's contract (SPEC §4, §6.2).
 *
 * An op is a function `(ctx, args) → CallResult` that never throws: whatever the arguments, it
 * answers what Xen would answer (an errno, a GNTST_* status, a short count). Ops mutate the
 * Machine in place, exactly as the real hypercall changes Xen's tables.
 */
import type { Finding, Location } from '../policy/types.js';
import type { NodePart, PathSeg } from '../config/source.js';
import type { DomainModel, Machine } from '../model/types.js';

export type Abi = 'none' | 'xs' | 'ta';

/** A named output value: frames are lowercase hex strings ("0x1f00"), counts are numbers. */
export type OutValue = string | number | boolean | null | OutValue[] | { [k: string]: OutValue };
export type Out = Record<string, OutValue>;

/**
 * The result of one call (SPEC §4).
 * - `rc`: the hypercall's return value (a count for memory reservation ops, else 0 or −errno).
 * - `status`: the element's status for single-element calls (xs `iommu.map_page`, grant ops);
 *   otherwise `rc` when negative, else 0.
 * - `errno`: the symbolic name of `status` ("OK" for 0; GNTST_* names for grant ops).
 * - `statuses` / `errnos`: batches (xs `iommu.op`), one per element processed.
 * - `out`: named outputs.
 */
export interface CallResult {
  rc: number;
  status: number;
  errno: string;
  statuses?: number[];
  errnos?: string[];
  out: Out;
}

/** Extra detail of a finding raised by an op. */
export interface ReportExtra {
  /** Path of the node the finding is about, relative to the call (e.g. `['gfns', 2]`); default the call. */
  path?: readonly PathSeg[];
  /** Related positions (paths relative to the same call, or absolute locations). */
  related?: { path?: readonly PathSeg[]; location?: Location; message: string }[];
}

/** What an op sees: the machine, the calling domain, the ABI in force, and a way to report findings. */
export interface OpContext {
  machine: Machine;
  caller: DomainModel;
  abi: Abi;
  report(ruleId: string, message: string, extra?: ReportExtra): void;
  /**
   * Where the call sits (for state that outlives it, e.g. `memory.translate` results checked by
   * `mapping/dangling` at the end). Absent for ops called directly.
   */
  origin?: CallOrigin;
}

/** The call an op runs for: its index and how to find its nodes. */
export interface CallOrigin {
  index: number;
  locate(path?: readonly PathSeg[], part?: NodePart): Location;
}

export type OpFn<A> = (ctx: OpContext, args: A) => CallResult;

/** One call of a scenario as reported (SPEC §6.2). Key order is the output order. */
export interface CallReport {
  index: number;
  op: string;
  caller: string;
  rc: number;
  errno: string;
  status: number;
  statuses?: number[];
  errnos?: string[];
  out: Out;
  findings: Finding[];
}

export interface EmulateSummary {
  calls: number;
  errors: number;
  warnings: number;
  failed_expectations: number;
}

/** `pviommu emulate --format json` (SPEC §6.2). */
export interface EmulateReport {
  version: 1;
  scenario: string;
  host: string;
  abi: Abi;
  calls: CallReport[];
  /** Every finding of the run: those of the calls (also listed per call) and the end-of-scenario ones. */
  findings: Finding[];
  summary: EmulateSummary;
}

/** A raw call (YAML mapping or JSON line) with a way to locate its nodes. */
export interface RawCall {
  call: unknown;
  /** Span of the node at `path` inside this call (path relative to the call; `part` as DocSource.locate). */
  locate(path?: readonly PathSeg[], part?: NodePart): Location;
}

/**
 * An op as the runner knows it: its name, the argument keys it takes, how to read them, and the
 * function that runs it. `abi`: the PV-IOMMU interface that provides it (other ABIs: ENOSYS).
 */
export interface OpSpec<A = unknown> {
  name: string;
  keys: ReadonlySet<string>;
  parse(r: import('./args.js').ArgReader): A;
  run: OpFn<A>;
  abi?: 'xs' | 'ta';
  /** One line for `formatEmulateText` / docs. */
  summary: string;
}

/** Helper so each module can declare specs with their argument type inferred. */
export function defineOp<A>(spec: OpSpec<A>): OpSpec<A> {
  return spec;
}
