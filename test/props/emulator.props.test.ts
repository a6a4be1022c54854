/**
 * Model-based property tests of the hypercall emulator (issue 7).
 *
 * Random small hosts (YAML text → loader → validateDocs → buildMachine) and random sequences of
 * calls of every op, both PV-IOMMU ABIs, through the real runner (Session). After every call:
 *  - page references are never negative, and no page lingers with neither its allocation nor a
 *    reference (it would have been freed);
 *  - a frame is owned by at most one domain (the pages extents are well-formed and disjoint), a
 *    domain's RAM p2m entries point at frames it owns, and no two RAM p2m entries share a frame;
 *  - a freed frame is in no p2m;
 *  - every IOMMU entry points at an allocated or pinned page, unless it was made with no_ref_cnt
 *    or built from the config (IommuEntry.origin / noRef);
 *  - every page reference is accounted for (entries holding one, pins, foreign p2m entries, grant
 *    maps): a page never has fewer references than holders.
 * Differential: a naive emulator with one Map entry per frame, for populate / decrease /
 * xs map_page / unmap_page / lookup_foreign_page / unmap_foreign_page, must hold the same
 * pages, p2m and IOMMU tables as the extent-based model after every call.
 * Round trips: a map followed by its unmap leaves `inspect()` exactly as it was.
 * Runs against Xen's loops: a PV `decrease_reservation` of a range against a plain gmfn-by-gmfn
 * removal, and ta `map_pages` / `unmap_pages` of `nr_pages` against one page per call — same
 * counts, same error, same `inspect()` after every call.
 *
 * Default: seed-fixed, a few hundred sequences (a few seconds). PVIOMMU_PROPS=long: ≥ 10,000
 * sequences per property, seed from PVIOMMU_PROPS_SEED if given (fast-check prints it on failure;
 * a failing seed goes into REGRESSIONS below with its shrunk counterexample).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/config/load.js';
import { validateDocs, type HostConfig } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import { allContexts } from '../../src/model/iommu.js';
import { inspect } from '../../src/model/inspect.js';
import { isHostRam, pageAt, releaseAllocation } from '../../src/model/pages.js';
import { Session, stateOf, type CallReport, type RawCall } from '../../src/hypercalls/index.js';
import type { DomainModel, Machine } from '../../src/model/types.js';
import { DOMID_IO, DOMID_XEN } from '../../src/model/types.js';
import type { Location } from '../../src/policy/types.js';
import { addToPhysmap, decreaseReservation, populatePhysmap } from '../../src/hypercalls/memory.js';
import { iommuOpElement, XS_SUBOPS } from '../../src/hypercalls/pv-iommu-xs.js';
import { IOMMU_MAP_readable, IOMMU_MAP_writeable, taAllocContext, taInit, taMapPages, taReattachDevice, taUnmapPages } from '../../src/hypercalls/pv-iommu-ta.js';
import { frameList } from '../../src/hypercalls/args.js';
import { env, lab } from '../hypercalls/helpers.js';
import { p2mRemove, pvReleased } from '../../src/model/p2m.js';

const LONG = process.env.PVIOMMU_PROPS === 'long';
const SEED = LONG ? (process.env.PVIOMMU_PROPS_SEED !== undefined ? Number(process.env.PVIOMMU_PROPS_SEED) : undefined) : 20240607;
const opts = (runs: number, longRuns = 10_000): fc.Parameters<unknown> => (SEED === undefined ? { numRuns: LONG ? longRuns : runs } : { numRuns: LONG ? longRuns : runs, seed: SEED });
const TIMEOUT = LONG ? 60 * 60_000 : 60_000;

// ─── random small hosts ──────────────────────────────────────────────────────────────────────

interface GuestSpec {
  type: 'hvm' | 'pv' | 'pvh';
  kib: number;
  extraKib: number;
  nic: boolean;
  passthrough: 'default' | 'disabled' | 'sync_pt';
  pvIommu: boolean;
}

interface HostSpec {
  vendor: 'intel' | 'amd';
  dom0: 'relaxed' | 'strict' | 'passthrough';
  abi: 'xs' | 'ta';
  width: 39 | 48;
  quarantine: 'basic' | 'scratch-page' | 'none';
  ramKib: number;
  dom0Kib: number;
  rmrr: boolean;
  guests: GuestSpec[];
}

const guestArb: fc.Arbitrary<GuestSpec> = fc.record({
  type: fc.constantFrom('hvm', 'hvm', 'pv', 'pvh'),
  kib: fc.constantFrom(64, 128, 256),
  extraKib: fc.constantFrom(0, 0, 64, 128),
  nic: fc.boolean(),
  passthrough: fc.constantFrom('default', 'default', 'disabled', 'sync_pt'),
  pvIommu: fc.boolean(),
});

const hostArb: fc.Arbitrary<HostSpec> = fc.record({
  vendor: fc.constantFrom('intel', 'intel', 'intel', 'amd'),
  dom0: fc.constantFrom('relaxed', 'relaxed', 'strict', 'strict', 'passthrough'),
  abi: fc.constantFrom('xs', 'ta'),
  width: fc.constantFrom(48, 39),
  quarantine: fc.constantFrom('basic', 'scratch-page', 'none'),
  ramKib: fc.constantFrom(1024, 1536, 2048),
  dom0Kib: fc.constantFrom(128, 256),
  rmrr: fc.boolean(),
  guests: fc.array(guestArb, { minLength: 1, maxLength: 3 }),
});

const GUESTS = ['vm1', 'vm2', 'vm3'];
const DEVICES = ['gpu', 'nic', 'nic2'];

function hostYaml(h: HostSpec): string {
  const docs = [
    `apiVersion: pviommu/v1
kind: Host
name: h
cpu_vendor: ${h.vendor}
ram: ${h.ramKib}KiB
xen_mfns: "0x0-0x1f"
iommu:
  dom0: ${h.dom0}
  address_width: ${h.width}
  quarantine: ${h.quarantine}
pv_iommu:
  abi: ${h.abi}
  foreign_offset: 0x100000`,
    `apiVersion: pviommu/v1
kind: Device
name: gpu
bdf: "00:02.0"
dma_bits: 39${h.rmrr ? '\nrmrr: ["0x30-0x33"]' : ''}`,
    `apiVersion: pviommu/v1
kind: Device
name: nic
bdf: "03:00.0"
assignable: true`,
    `apiVersion: pviommu/v1
kind: Device
name: nic2
bdf: "03:00.1"
assignable: true`,
    `apiVersion: pviommu/v1
kind: Domain
name: dom0
domid: 0
type: pv
role: hardware
memory: ${h.dom0Kib}KiB`,
    ...h.guests.map(
      (g, i) => `apiVersion: pviommu/v1
kind: Domain
name: ${GUESTS[i]}
domid: ${i + 1}
type: ${g.type}
memory: ${g.kib}KiB
maxmem: ${g.kib + g.extraKib}KiB
pv_iommu: ${g.pvIommu}
passthrough: ${g.nic && g.passthrough === 'disabled' ? 'default' : g.passthrough}${g.nic && i === h.guests.findIndex((x) => x.nic) ? '\npci: [{ dev: nic }]' : ''}`,
    ),
  ];
  return docs.join('\n---\n') + '\n';
}

function loadHost(text: string): HostConfig {
  const l = loadText('h.yaml', text);
  const v = validateDocs(l.docs);
  const errors = [...l.findings, ...v.findings].filter((f) => f.severity === 'error');
  if (errors.length) throw new Error(`generated host has input errors:\n${errors.map((f) => `${f.line}: ${f.message}`).join('\n')}\n${text}`);
  return v.config.hosts[0]!;
}

// ─── random calls ────────────────────────────────────────────────────────────────────────────

type Call = Record<string, unknown>;

const OFFSET = 0x100000;
const gfn = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 0x50 }) }, { weight: 1, arbitrary: fc.integer({ min: 0x20, max: 0x280 }) });
const bfn = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0x80000, max: 0x8000f }) }, // free BFNs of dom0's context
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x280 }) }, // identity / BFN = PFN / guest DFNs
  { weight: 2, arbitrary: fc.integer({ min: OFFSET, max: OFFSET + 0x200 }) }, // the xs foreign window
  { weight: 1, arbitrary: fc.constantFrom(0x8000000, 0xfffffffff, 2 ** 36 + 5) }, // beyond VT-d / AMD widths
);
const domain = fc.constantFrom<string | number>('dom0', 'vm1', 'vm2', 'vm3', 0, 1, 2, 3, 0x7ff0, 9);
const caller = fc.constantFrom('dom0', 'dom0', 'dom0', 'vm1', 'vm2', 'vm3');
/** Mostly the hardware domain: the PV-IOMMU and grant ops mostly succeed for it. */
const hwCaller = fc.oneof({ weight: 6, arbitrary: fc.constant('dom0') }, { weight: 1, arbitrary: fc.constantFrom('vm1', 'vm2', 'vm3') });
/** Mostly an existing guest (the targets of foreign mappings). */
const guest = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<string | number>('vm1', 'vm2', 'vm1', 1, 2) }, { weight: 1, arbitrary: domain });
/** A guest gfn that is usually backed (guests have 16..64 frames from gfn 0). */
const guestGfn = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 0xf }) }, { weight: 1, arbitrary: gfn });
/** A gfn of the PV dom0 is an MFN it owns: 0x20.. (after Xen's 0x0-0x1f). */
const dom0Mfn = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0x20, max: 0x3f }) }, { weight: 1, arbitrary: gfn });
const freeBfn = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0x80000, max: 0x80007 }) }, { weight: 1, arbitrary: bfn });
const device = fc.constantFrom(...DEVICES, '00:02.0', '03:00.1', 'nope');
const gfnList = fc.oneof(
  fc.array(gfn, { minLength: 1, maxLength: 4 }).map((a) => a.map((g) => `0x${g.toString(16)}`)),
  fc.tuple(gfn, fc.integer({ min: 0, max: 8 })).map(([g, n]) => `0x${g.toString(16)}-0x${(g + n).toString(16)}`),
);
const xsFlags = fc.constantFrom(['read', 'write'], ['read'], ['write'], [], ['read', 'write', 'no_ref_cnt']);

/** Calls of every op. `bfn_of` indices are taken modulo the calls so far by the runner. */
const callArb: fc.Arbitrary<Call> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('memory.populate_physmap'), caller, domid: domain, gfns: gfnList }, { requiredKeys: ['op', 'caller', 'gfns'] }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('memory.decrease_reservation'), caller, domid: domain, gfns: gfnList }, { requiredKeys: ['op', 'caller', 'gfns'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('memory.add_to_physmap'), caller, domid: domain, space: fc.constantFrom('gmfn', 'gmfn_foreign'), idx: gfn, gpfn: gfn, foreign_domid: domain }, { requiredKeys: ['op', 'caller', 'space', 'idx', 'gpfn'] }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('memory.remove_from_physmap'), caller, domid: domain, gpfn: gfn }, { requiredKeys: ['op', 'caller', 'gpfn'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('memory.translate'), caller, domid: domain, gfns: gfnList }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('grant.map'), caller: hwCaller, granter: guest, gfn: guestGfn, flags: fc.constantFrom(['host_map'], ['device_map'], ['host_map', 'device_map'], ['host_map', 'readonly'], ['device_map', 'readonly']), host_gfn: gfn }, { requiredKeys: ['op', 'caller', 'granter', 'gfn', 'flags'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grant.unmap'), caller: hwCaller, handle: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('domctl.assign_device'), domid: domain, device, rdm_relaxed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('domctl.deassign_device'), domid: domain, device }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('domctl.test_assign_device'), device }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('domain.destroy'), domid: fc.constantFrom('vm1', 'vm2', 'vm3', 'dom0') }) },
  // xs
  { weight: 3, arbitrary: fc.record({ op: fc.constant('iommu.map_page'), caller: hwCaller, bfn: freeBfn, gfn: dom0Mfn, flags: xsFlags }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('iommu.unmap_page'), caller: hwCaller, bfn: freeBfn }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('iommu.map_foreign_page'), caller: hwCaller, bfn: freeBfn, domid: guest, gfn: guestGfn, flags: xsFlags }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('iommu.lookup_foreign_page'), caller: hwCaller, domid: guest, gfn: guestGfn }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('iommu.unmap_foreign_page'), caller: hwCaller, bfn }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('iommu.unmap_foreign_page'), caller: hwCaller, bfn_of: fc.nat({ max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iommu.op'), caller, ops: fc.array(fc.oneof(
    fc.record({ subop: fc.constant('map_page'), bfn, gfn, flags: xsFlags }),
    fc.record({ subop: fc.constant('unmap_page'), bfn }),
    fc.record({ subop: fc.constant('lookup_foreign_page'), domid: domain, gfn }),
    fc.record({ subop: fc.constant('unmap_foreign_page'), bfn }),
    fc.record({ subop: fc.constant('map_foreign_page'), bfn, domid: domain, gfn, flags: xsFlags }),
  ), { maxLength: 4 }) }) },
  // ta
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iommu.init'), caller: hwCaller, max_ctx_no: fc.integer({ min: 0, max: 4 }), arena_order: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('iommu.alloc_context'), caller: hwCaller }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iommu.free_context'), caller: hwCaller, ctx_no: fc.integer({ min: 0, max: 3 }), reattach_default: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iommu.reattach_device'), caller: hwCaller, ctx_no: fc.integer({ min: 0, max: 3 }), device }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('iommu.map_pages'), caller: hwCaller, ctx_no: fc.integer({ min: 0, max: 2 }), gfn: dom0Mfn, dfn: freeBfn, nr_pages: fc.integer({ min: 0, max: 6 }), flags: fc.constantFrom(['read', 'write'], ['read'], []) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('iommu.unmap_pages'), caller: hwCaller, ctx_no: fc.integer({ min: 0, max: 2 }), dfn: freeBfn, nr_pages: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('iommu.remote_cmd'), caller, domid: domain, subop: fc.constantFrom('map_pages', 'unmap_pages', 'alloc_context', 'init'), args: fc.record({ ctx_no: fc.integer({ min: 0, max: 2 }), gfn, dfn: bfn, nr_pages: fc.integer({ min: 1, max: 3 }), flags: fc.constant(['read', 'write']) }) }) },
  // DMA (reads the tables only)
  { weight: 2, arbitrary: fc.record({ op: fc.constant('device.dma'), device, bfn, access: fc.constantFrom('read', 'write') }) },
);

const LOC: Location = { file: 'props', line: 1, column: 1, endLine: 1, endColumn: 2 };
const raw = (call: Call): RawCall => ({ call, locate: () => LOC });

function session(m: Machine): Session {
  return new Session(m, { abi: m.pvIommu.abi, scenario: 'props', keepCallFindings: false });
}

// ─── invariants ──────────────────────────────────────────────────────────────────────────────

const RAM_TYPES = new Set(['ram_rw', 'ram_ro', 'ram_logdirty']);
/** p2m types whose frame is a page someone holds (own RAM, or another domain's page held by a reference). */
const PAGE_TYPES = new Set(['ram_rw', 'ram_ro', 'ram_logdirty', 'ram_shared', 'ioreq_server', 'grant_map_rw', 'grant_map_ro', 'map_foreign']);

function checkInvariants(m: Machine, after: string): void {
  const fail = (why: string): never => {
    throw new Error(`${why}\n  after ${after}`);
  };
  const pages = m.pages;
  (pages as unknown as { checkInvariants?: () => void }).checkInvariants?.();
  let prevEnd = -1;
  for (const e of pages.entries()) {
    const v = e.value;
    if (e.start <= prevEnd) fail(`page extents overlap at ${e.start}`);
    prevEnd = e.end;
    if (!Number.isSafeInteger(v.refs) || v.refs < 0) fail(`negative reference count ${v.refs} at MFN 0x${e.start.toString(16)}`);
    if (!v.allocated && v.refs === 0 && !v.pinned) fail(`MFN 0x${e.start.toString(16)}: neither allocated nor referenced, yet not free`);
    if (v.pinned && v.refs < 1) fail(`MFN 0x${e.start.toString(16)} pinned without a reference`);
    if (v.owner !== DOMID_XEN && v.owner !== DOMID_IO && !m.domains.has(v.owner)) fail(`MFN 0x${e.start.toString(16)} owned by unknown domain ${v.owner}`);
  }
  // p2m: RAM entries point at the domain's own frames, never at free ones, and no frame is RAM twice.
  const ramOwner = new Map<number, string>();
  for (const d of m.domains.values()) {
    if (d.destroyed) continue;
    for (const e of d.p2m.entries()) {
      const t = e.value.type;
      if (!PAGE_TYPES.has(t)) continue;
      for (let g = e.start; g <= e.end; g++) {
        const mfn = e.value.base + (g - e.start);
        if (!isHostRam(m, mfn) || m.rmrr.has(mfn)) continue;
        const p = pages.lookup(mfn);
        if (!p) fail(`${d.name}'s gfn 0x${g.toString(16)} (${t}) maps MFN 0x${mfn.toString(16)}, which is free`);
        if (RAM_TYPES.has(t) && d.type !== 'pv') {
          if (p!.owner !== d.domid) fail(`${d.name}'s RAM gfn 0x${g.toString(16)} maps MFN 0x${mfn.toString(16)} owned by ${p!.owner}`);
          const prev = ramOwner.get(mfn);
          if (prev !== undefined) fail(`MFN 0x${mfn.toString(16)} is RAM of ${prev} and of ${d.name} (gfn 0x${g.toString(16)})`);
          ramOwner.set(mfn, `${d.name}:0x${g.toString(16)}`);
        }
      }
    }
  }
  // IOMMU: entries made by calls point at held pages (unless no_ref_cnt); count the holders.
  const holders = new Map<number, number>();
  const hold = (mfn: number, n = 1) => holders.set(mfn, (holders.get(mfn) ?? 0) + n);
  for (const ctx of allContexts(m)) {
    for (const e of ctx.table.entries()) {
      const v = e.value;
      if (v.origin === 'config' || v.origin === 'window' || v.noRef) continue;
      for (let dfn = e.start; dfn <= e.end; dfn++) {
        const mfn = v.base + (dfn - e.start);
        if (!isHostRam(m, mfn) || m.rmrr.has(mfn)) continue;
        const p = pages.lookup(mfn);
        if (!p) fail(`${ctx.id} DFN 0x${dfn.toString(16)} (${v.origin}) points at free MFN 0x${mfn.toString(16)}`);
        if (v.ref) hold(mfn);
      }
    }
  }
  for (const d of m.domains.values()) {
    if (d.destroyed) continue;
    for (const e of d.p2m.entries()) if (e.value.type === 'map_foreign') for (let g = e.start; g <= e.end; g++) hold(e.value.base + (g - e.start));
  }
  for (const e of pages.entries()) if (e.value.pinned) for (let f = e.start; f <= e.end; f++) hold(f);
  for (const [mfn, n] of holders) {
    const p = pages.lookup(mfn);
    if (p && p.refs < n) fail(`MFN 0x${mfn.toString(16)} has ${p.refs} references but ${n} holders (IOMMU entries, pins, foreign p2m entries)`);
  }
  void stateOf(m); // grant maps: counted by the model itself; their identity entries are checked above
}

function describeCalls(calls: readonly Call[], reports: readonly CallReport[]): string {
  return calls.map((c, i) => `#${i} ${JSON.stringify(c)} → ${reports[i] ? reports[i]!.errno : '?'}`).join('\n  ');
}

// ─── regressions: fixed sequences (hand-written checks of the trickiest paths) ──────────────

interface Regression {
  name: string;
  host: HostSpec;
  calls: Call[];
}

const BASE: HostSpec = { vendor: 'intel', dom0: 'relaxed', abi: 'xs', width: 48, quarantine: 'basic', ramKib: 1024, dom0Kib: 128, rmrr: false, guests: [{ type: 'hvm', kib: 64, extraKib: 64, nic: false, passthrough: 'default', pvIommu: false }] };

const REGRESSIONS: Regression[] = [
  // The free floor of the allocator must drop when a frame below it is freed (decrease, then
  // populate must reuse the lowest free frame first).
  {
    name: 'populate after decrease reuses the lowest freed frame',
    host: BASE,
    calls: [
      { op: 'memory.decrease_reservation', caller: 'vm1', gfns: ['0x3'] },
      { op: 'memory.populate_physmap', caller: 'vm1', gfns: ['0x40'] },
      { op: 'memory.populate_physmap', caller: 'vm1', gfns: ['0x41'] },
    ],
  },
  // A pinned page that its owner gave back stays allocated-to-nobody, held by the pin; unpinning frees it.
  {
    name: 'lookup pins, decrease keeps the page, unmap_foreign frees it',
    host: BASE,
    calls: [
      { op: 'iommu.lookup_foreign_page', domid: 'vm1', gfn: 4 },
      { op: 'memory.decrease_reservation', caller: 'vm1', gfns: ['0x4'] },
      { op: 'memory.populate_physmap', caller: 'vm1', gfns: ['0x40'] },
      { op: 'iommu.unmap_foreign_page', bfn_of: 0 },
    ],
  },
];

// ─── the properties ──────────────────────────────────────────────────────────────────────────

function runChecked(host: HostSpec, calls: Call[]): { m: Machine; reports: CallReport[] } {
  const m = buildMachine(loadHost(hostYaml(host)));
  checkInvariants(m, 'building the machine');
  const s = session(m);
  const reports: CallReport[] = [];
  /** Indices of the calls run so far that hand out a BFN (what `bfn_of` usually refers to). */
  const bfnCalls: number[] = [];
  for (const [i, c] of calls.entries()) {
    if ('bfn_of' in c && reports.length === 0) continue;
    const k = c.bfn_of as number;
    const call = 'bfn_of' in c ? { ...c, bfn_of: bfnCalls.length ? bfnCalls[k % bfnCalls.length]! : k % reports.length } : c;
    if (c.op === 'iommu.lookup_foreign_page' || c.op === 'iommu.op') bfnCalls.push(reports.length);
    reports.push(s.run(raw(call)));
    checkInvariants(m, `call #${i}:\n  ${describeCalls(calls.slice(0, i + 1), reports)}`);
  }
  s.finish();
  checkInvariants(m, 'the end-of-run checks');
  return { m, reports };
}

describe('emulator invariants after every call (random hosts, random calls, both ABIs)', () => {
  for (const r of REGRESSIONS) {
    it(`regression: ${r.name}`, () => {
      runChecked(r.host, r.calls);
    });
  }

  it(`${LONG ? '10,000' : '300'} random sequences`, { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(hostArb, fc.boolean(), fc.array(callArb, { minLength: 1, maxLength: 30 }), (host, setup, calls) => {
        // ta: contexts exist only after init + alloc_context; start with them half of the time
        const pre: Call[] = setup && host.abi === 'ta' ? [{ op: 'iommu.init', max_ctx_no: 3, arena_order: 0 }, { op: 'iommu.alloc_context' }] : [];
        runChecked(host, [...pre, ...calls]);
      }),
      opts(300),
    );
  });
});

// ─── differential: a naive per-frame emulator ───────────────────────────────────────────────

/**
 * The naive model of a subset of the xs host: one Map entry per frame. Hosts: intel, xs usable
 * (PV dom0, relaxed or strict), HVM guests without devices. Ops: populate_physmap and
 * decrease_reservation (guests on themselves), xs map_page / unmap_page at BFNs 0x80000.. (no
 * config entry there), lookup_foreign_page / unmap_foreign_page (dom0 on guests).
 */
/** A domain's p2m, one entry per gfn. */
function p2mFrames(d: DomainModel): Map<number, { mfn: number; type: string }> {
  const g = new Map<number, { mfn: number; type: string }>();
  for (const e of d.p2m.entries()) for (let x = e.start; x <= e.end; x++) g.set(x, { mfn: e.value.base + (x - e.start), type: e.value.type });
  return g;
}

class Naive {
  /** mfn → page */
  pages = new Map<number, { owner: number; allocated: boolean; refs: number; pinned: boolean }>();
  /** domid → gfn → p2m entry (every type: the automatic layout adds populate_on_demand beyond memory) */
  p2m = new Map<number, Map<number, { mfn: number; type: string }>>();
  tot = new Map<number, number>();
  max = new Map<number, number>();
  /** dom0's map_page entries: bfn → mfn (each holds a reference) */
  iommu = new Map<number, number>();
  ramFrames: number[] = [];

  constructor(m: Machine) {
    for (const e of m.pages.entries()) for (let f = e.start; f <= e.end; f++) this.pages.set(f, { ...e.value });
    for (const d of m.domains.values()) {
      this.p2m.set(d.domid, p2mFrames(d));
      this.tot.set(d.domid, d.totPages);
      this.max.set(d.domid, d.maxPages);
    }
    for (const e of m.ram.entries()) for (let f = e.start; f <= e.end; f++) if (!m.rmrr.has(f)) this.ramFrames.push(f);
  }

  private put(mfn: number): void {
    const p = this.pages.get(mfn)!;
    p.refs--;
    if (!p.allocated && p.refs === 0) this.pages.delete(mfn);
  }

  populate(d: number, gfns: number[]): void {
    for (const g of gfns) {
      if (this.tot.get(d)! >= this.max.get(d)!) return;
      const mfn = this.ramFrames.find((f) => !this.pages.has(f));
      if (mfn === undefined) return;
      this.pages.set(mfn, { owner: d, allocated: true, refs: 0, pinned: false });
      this.tot.set(d, this.tot.get(d)! + 1);
      this.p2m.get(d)!.set(g, { mfn, type: 'ram_rw' }); // an old frame at g stays allocated to d, unmapped
    }
  }

  decrease(d: number, gfns: number[]): void {
    for (const g of gfns) {
      const e = this.p2m.get(d)!.get(g);
      if (e === undefined) return; // -EINVAL
      if (e.type === 'populate_on_demand') {
        this.p2m.get(d)!.delete(g);
        continue;
      }
      if (e.type !== 'ram_rw') return;
      const mfn = e.mfn;
      const p = this.pages.get(mfn)!;
      this.p2m.get(d)!.delete(g);
      if (p.allocated) {
        p.allocated = false;
        this.tot.set(d, this.tot.get(d)! - 1);
        if (p.refs === 0) this.pages.delete(mfn);
      }
    }
  }

  /** dom0 (PV): gfn is an MFN dom0 owns. */
  mapPage(bfn: number, mfn: number): void {
    const p = this.pages.get(mfn);
    if (!p || p.owner !== 0 || !p.allocated || this.iommu.has(bfn)) return;
    p.refs++;
    this.iommu.set(bfn, mfn);
  }

  unmapPage(bfn: number): void {
    const mfn = this.iommu.get(bfn);
    if (mfn === undefined) return;
    this.iommu.delete(bfn);
    this.put(mfn);
  }

  lookup(d: number, g: number): void {
    const e = this.p2m.get(d)!.get(g);
    if (e === undefined || e.type !== 'ram_rw') return;
    const mfn = e.mfn;
    const p = this.pages.get(mfn)!;
    if (!p.allocated || p.pinned) return;
    p.pinned = true;
    p.refs++;
  }

  /** unmap_foreign_page of the window BFN OFFSET + mfn. */
  unmapForeign(mfn: number): void {
    const p = this.pages.get(mfn);
    if (!p || !p.pinned) return;
    p.pinned = false;
    this.put(mfn);
  }
}

type DiffOp =
  | { k: 'populate'; d: number; gfns: number[] }
  | { k: 'decrease'; d: number; gfns: number[] }
  | { k: 'decreaseRange'; d: number; start: number; len: number }
  | { k: 'map'; bfn: number; mfn: number }
  | { k: 'unmap'; bfn: number }
  | { k: 'lookup'; d: number; gfn: number }
  | { k: 'unmapForeign'; mfn: number };

const diffHostArb: fc.Arbitrary<HostSpec> = fc.record({
  vendor: fc.constant('intel' as const),
  dom0: fc.constantFrom('relaxed' as const, 'strict' as const),
  abi: fc.constant('xs' as const),
  width: fc.constant(48 as const),
  quarantine: fc.constant('basic' as const),
  ramKib: fc.constantFrom(512, 768, 1024),
  dom0Kib: fc.constantFrom(64, 128),
  rmrr: fc.boolean(),
  guests: fc.array(
    fc.record({ type: fc.constant('hvm' as const), kib: fc.constantFrom(32, 64, 128), extraKib: fc.constantFrom(0, 32, 64, 256), nic: fc.constant(false), passthrough: fc.constantFrom('default' as const, 'disabled' as const), pvIommu: fc.constant(false) }),
    { minLength: 1, maxLength: 3 },
  ),
});

const dgfn = fc.integer({ min: 0, max: 0x30 });
const diffOpArb: fc.Arbitrary<DiffOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('populate' as const), d: fc.integer({ min: 1, max: 3 }), gfns: fc.array(fc.oneof(dgfn, fc.integer({ min: 0x100, max: 0x110 })), { minLength: 1, maxLength: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('decrease' as const), d: fc.integer({ min: 1, max: 3 }), gfns: fc.array(dgfn, { minLength: 1, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('decreaseRange' as const), d: fc.integer({ min: 1, max: 3 }), start: dgfn, len: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('map' as const), bfn: fc.integer({ min: 0x80000, max: 0x80007 }), mfn: fc.integer({ min: 0x18, max: 0x60 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unmap' as const), bfn: fc.integer({ min: 0x80000, max: 0x80007 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('lookup' as const), d: fc.integer({ min: 1, max: 3 }), gfn: dgfn }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unmapForeign' as const), mfn: fc.integer({ min: 0x20, max: 0xff }) }) },
);

function toCall(op: DiffOp): Call {
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (op.k) {
    case 'populate':
      return { op: 'memory.populate_physmap', caller: op.d, gfns: op.gfns.map(hex) };
    case 'decrease':
      return { op: 'memory.decrease_reservation', caller: op.d, gfns: op.gfns.map(hex) };
    case 'decreaseRange':
      return { op: 'memory.decrease_reservation', caller: op.d, gfns: [`${hex(op.start)}-${hex(op.start + op.len - 1)}`] };
    case 'map':
      return { op: 'iommu.map_page', bfn: hex(op.bfn), gfn: hex(op.mfn), flags: ['read', 'write'] };
    case 'unmap':
      return { op: 'iommu.unmap_page', bfn: hex(op.bfn) };
    case 'lookup':
      return { op: 'iommu.lookup_foreign_page', domid: op.d, gfn: hex(op.gfn) };
    case 'unmapForeign':
      return { op: 'iommu.unmap_foreign_page', bfn: hex(OFFSET + op.mfn) };
  }
}

function applyNaive(n: Naive, op: DiffOp, guests: number): void {
  if ('d' in op && op.d > guests) return; // no such domain: nothing happens in either model
  switch (op.k) {
    case 'populate':
      return n.populate(op.d, op.gfns);
    case 'decrease':
      return n.decrease(op.d, op.gfns);
    case 'decreaseRange':
      return n.decrease(op.d, Array.from({ length: op.len }, (_, i) => op.start + i));
    case 'map':
      return n.mapPage(op.bfn, op.mfn);
    case 'unmap':
      return n.unmapPage(op.bfn);
    case 'lookup':
      return n.lookup(op.d, op.gfn);
    case 'unmapForeign':
      return n.unmapForeign(op.mfn);
  }
}

function compare(m: Machine, n: Naive, after: string): void {
  const pages = new Map<number, unknown>();
  for (const e of m.pages.entries()) for (let f = e.start; f <= e.end; f++) pages.set(f, { ...e.value });
  const naivePages = new Map([...n.pages].map(([k, v]) => [k, { ...v }]));
  expect(pages, `pages after ${after}`).toEqual(naivePages);
  for (const d of m.domains.values()) {
    if (d.domid === 0) continue;
    expect(p2mFrames(d), `${d.name}'s p2m after ${after}`).toEqual(n.p2m.get(d.domid));
    expect(d.totPages, `${d.name}'s tot_pages after ${after}`).toBe(n.tot.get(d.domid));
  }
  const t = new Map<number, number>();
  for (const e of m.domains.get(0)!.iommu!.table.overlapping(0x80000, 0x80007)) for (let b = e.start; b <= e.end; b++) t.set(b, e.value.base + (b - e.start));
  expect(t, `dom0's map_page entries after ${after}`).toEqual(n.iommu);
}

function runDiff(host: HostSpec, ops: DiffOp[]): void {
  const m = buildMachine(loadHost(hostYaml(host)));
  expect(m.pvIommu.usable).toBe(true);
  const n = new Naive(m);
  compare(m, n, 'building');
  const s = session(m);
  ops.forEach((op, i) => {
    s.run(raw(toCall(op)));
    applyNaive(n, op, host.guests.length);
    const after = ops.slice(0, i + 1).map((o) => JSON.stringify(o)).join(', ');
    compare(m, n, after);
    checkInvariants(m, after);
  });
}

/**
 * Counterexamples found on the way, as fast-check shrank them. Seed 20240607 (the default seed),
 * run 151: the pin taken by lookup_foreign_page on a host whose RMRR splits the guest's RAM, then
 * released through its window BFN. (The fault was the naive model's — it took the window BFN for
 * the MFN — the case stays as a fixed check of the window arithmetic.)
 */
const DIFF_REGRESSIONS: { name: string; host: HostSpec; ops: DiffOp[] }[] = [
  {
    name: 'seed 20240607: lookup pins MFN 0x35 (after the RMRR), unmap_foreign_page of BFN offset+0x35 unpins it',
    host: { vendor: 'intel', dom0: 'relaxed', abi: 'xs', width: 48, quarantine: 'basic', ramKib: 512, dom0Kib: 64, rmrr: true, guests: [{ type: 'hvm', kib: 32, extraKib: 0, nic: false, passthrough: 'default', pvIommu: false }] },
    ops: [{ k: 'lookup', d: 1, gfn: 1 }, { k: 'unmapForeign', mfn: 53 }],
  },
  {
    name: 'populate beyond memory (PoD entries up to maxmem), decrease of a PoD gfn just drops it',
    host: { vendor: 'intel', dom0: 'strict', abi: 'xs', width: 48, quarantine: 'basic', ramKib: 512, dom0Kib: 64, rmrr: false, guests: [{ type: 'hvm', kib: 32, extraKib: 32, nic: false, passthrough: 'default', pvIommu: false }] },
    ops: [{ k: 'decrease', d: 1, gfns: [0xa] }, { k: 'populate', d: 1, gfns: [0xa, 0x100] }, { k: 'decrease', d: 1, gfns: [0x2, 0xc] }],
  },
];

describe('differential: extent tables vs a naive per-frame emulator', () => {
  for (const r of DIFF_REGRESSIONS) it(`regression: ${r.name}`, () => runDiff(r.host, r.ops));

  it(`${LONG ? '10,000' : '250'} random sequences of populate / decrease / map_page / unmap_page / lookup / unmap_foreign`, { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(diffHostArb, fc.array(diffOpArb, { minLength: 1, maxLength: 40 }), (host, ops) => runDiff(host, ops)),
      opts(250),
    );
  });
});

// ─── round trips: unmap after map restores the previous state ───────────────────────────────

type Pair = { name: string; map: (i: number) => Call; unmap: (i: number, r: CallReport) => Call | undefined };

const PAIRS: Pair[] = [
  { name: 'xs map_page / unmap_page', map: () => ({ op: 'iommu.map_page', bfn: '0x80010', gfn: '0x21', flags: ['read', 'write'] }), unmap: () => ({ op: 'iommu.unmap_page', bfn: '0x80010' }) },
  { name: 'xs map_page no_ref_cnt / unmap_page', map: () => ({ op: 'iommu.map_page', bfn: '0x80011', gfn: '0x30', flags: ['read', 'no_ref_cnt'] }), unmap: () => ({ op: 'iommu.unmap_page', bfn: '0x80011' }) },
  { name: 'xs map_foreign_page / unmap_foreign_page', map: () => ({ op: 'iommu.map_foreign_page', bfn: '0x80012', domid: 'vm1', gfn: '0x2', flags: ['read', 'write'] }), unmap: () => ({ op: 'iommu.unmap_foreign_page', bfn: '0x80012' }) },
  { name: 'ta map_pages / unmap_pages (context 0 of dom0 is refused; a new context)', map: () => ({ op: 'iommu.map_pages', ctx_no: 1, gfn: '0x21', dfn: '0x9000', nr_pages: 3, flags: ['read', 'write'] }), unmap: (_, r) => ({ op: 'iommu.unmap_pages', ctx_no: 1, dfn: '0x9000', nr_pages: Number(r.out.mapped ?? 0) }) },
  { name: 'populate_physmap / decrease_reservation of a fresh gfn', map: () => ({ op: 'memory.populate_physmap', caller: 'vm1', gfns: ['0x2000'] }), unmap: (_, r) => (r.rc === 1 ? { op: 'memory.decrease_reservation', caller: 'vm1', gfns: Array.isArray(r.out.mfns) ? r.out.mfns : ['0x2000'] } : undefined) }, // PV: decrease takes the MFN
  { name: 'grant.map / grant.unmap', map: () => ({ op: 'grant.map', caller: 'dom0', granter: 'vm1', gfn: '0x3', flags: ['host_map', 'device_map'] }), unmap: (_, r) => (r.out.handle === undefined ? undefined : { op: 'grant.unmap', caller: 'dom0', handle: r.out.handle }) },
  { name: 'add_to_physmap gmfn_foreign / remove_from_physmap', map: () => ({ op: 'memory.add_to_physmap', caller: 'dom0', domid: 'vm2', space: 'gmfn_foreign', idx: '0x1', gpfn: '0x300', foreign_domid: 'vm1' }), unmap: () => ({ op: 'memory.remove_from_physmap', caller: 'dom0', domid: 'vm2', gpfn: '0x300' }) },
];

function snapshot(m: Machine): string {
  return JSON.stringify(inspect(m));
}

describe('unmap after map restores the previous state (inspect() output)', () => {
  for (const pair of PAIRS) {
    it(pair.name, { timeout: TIMEOUT }, () => {
      fc.assert(
        fc.property(hostArb, fc.array(callArb, { maxLength: 12 }), (host0, prefix) => {
          // two guests at least; the ta pair needs a context: init + alloc first
          const host: HostSpec = { ...host0, guests: host0.guests.length >= 2 ? host0.guests : [...host0.guests, { type: 'hvm', kib: 64, extraKib: 0, nic: false, passthrough: 'default', pvIommu: false }] };
          const m = buildMachine(loadHost(hostYaml(host)));
          const s = session(m);
          const setup: Call[] = host.abi === 'ta' ? [{ op: 'iommu.init', max_ctx_no: 2, arena_order: 0 }, { op: 'iommu.alloc_context' }] : [];
          for (const c of [...setup, ...prefix.filter((c) => c.op !== 'domain.destroy' && !('bfn_of' in c))]) s.run(raw(c));
          const before = snapshot(m);
          const r = s.run(raw(pair.map(0)));
          // ta map_pages reports partial progress without rolling it back: undo what it mapped
          if (r.errno !== 'OK' && !(Number(r.out.mapped ?? 0) > 0)) {
            expect(snapshot(m), 'a failed map changes nothing').toBe(before);
            return;
          }
          const un = pair.unmap(0, r);
          if (!un) return;
          const u = s.run(raw(un));
          expect(u.errno, `${JSON.stringify(r)}\n${JSON.stringify(u)}`).toBe('OK');
          expect(snapshot(m)).toBe(before);
        }),
        opts(60, 2000),
      );
    });
  }
});

// ─── PV decrease_reservation: a range by extents = gmfn by gmfn ─────────────────────────────

/** A PV guest with a device (its context mirrors its pages, DFN = MFN): mfns 0x2500-0x25ff. */
const PV1 = 'apiVersion: pviommu/v1\nkind: Domain\nname: pv1\ndomid: 7\ntype: pv\nmemory: 1MiB\npci: [{ dev: nic2 }]';
/** dom0's P2M with mfns 0x180-0x18f at a second pfn range too (the M2P cannot hold it). */
const DOM0_ALIASED = 'p2m:\n  - { gfns: "0x0-0xfff", mfns: "0x100-0x10ff", type: ram_rw }\n  - { gfns: "0x2000-0x200f", mfns: "0x180-0x18f", type: ram_rw }';

type PvOp =
  | { k: 'dec'; who: 'dom0' | 'pv1'; start: number; len: number }
  | { k: 'map'; bfn: number; mfn: number }
  | { k: 'unmap'; bfn: number }
  | { k: 'pop'; pfn: number; count: number };

const pvOpArb: fc.Arbitrary<PvOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('dec' as const), who: fc.constant('dom0' as const), start: fc.oneof(fc.integer({ min: 0xf8, max: 0x130 }), fc.integer({ min: 0x170, max: 0x195 }), fc.integer({ min: 0x10f0, max: 0x1108 })), len: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('dec' as const), who: fc.constant('pv1' as const), start: fc.integer({ min: 0x24f8, max: 0x2610 }), len: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('map' as const), bfn: fc.integer({ min: 0x90000, max: 0x90007 }), mfn: fc.oneof(fc.integer({ min: 0x100, max: 0x130 }), fc.integer({ min: 0x178, max: 0x190 })) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unmap' as const), bfn: fc.integer({ min: 0x90000, max: 0x90007 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pop' as const), pfn: fc.integer({ min: 0, max: 0x120 }), count: fc.integer({ min: 1, max: 4 }) }) },
);

/**
 * guest_remove_page of one gmfn of a PV domain, the plain way: the page must be the domain's with
 * its allocation reference; every pfn whose P2M entry maps it (found by walking the P2M) loses
 * its slot; its IOMMU identity entry goes (PV: unmapped by MFN, in the P2M or not); the
 * allocation reference goes.
 */
function naiveRemovePv(m: Machine, d: DomainModel, mfn: number): boolean {
  const p = pageAt(m, mfn);
  if (!p || p.owner !== d.domid || !p.allocated) return false;
  const pfns: number[] = [];
  for (const e of d.p2m.entries()) if (mfn >= e.value.base && mfn - e.value.base <= e.end - e.start) pfns.push(e.start + (mfn - e.value.base));
  for (const pfn of pfns) p2mRemove(m, d, pfn, 1);
  pvReleased(d, mfn, mfn);
  releaseAllocation(m, mfn, 1);
  return true;
}

function runPvRanges(aliased: boolean, ops: PvOp[]): void {
  const text = lab({ extra: [PV1], ...(aliased ? { dom0Extra: DOM0_ALIASED } : {}) });
  const byRange = env(text);
  const byFrame = env(text);
  const gfns = (start: number, end: number) => frameList([{ start, end }]);
  for (const op of ops) {
    for (const e of [byRange, byFrame]) {
      if (op.k === 'map') iommuOpElement(e.ctx(), { subop: XS_SUBOPS.map_page!, bfn: op.bfn, gfn: op.mfn, flags: 3 });
      else if (op.k === 'unmap') iommuOpElement(e.ctx(), { subop: XS_SUBOPS.unmap_page!, bfn: op.bfn });
      else if (op.k === 'pop') populatePhysmap(e.ctx('pv1'), { gfns: gfns(op.pfn, op.pfn + op.count - 1) });
    }
    if (op.k === 'dec') {
      const end = op.start + op.len - 1;
      const done = decreaseReservation(byRange.ctx(op.who), { gfns: gfns(op.start, end) }).rc;
      // Xen's loop, gmfn by gmfn, up to the first that cannot be removed (naiveRemovePv).
      let n = 0;
      while (op.start + n <= end && naiveRemovePv(byFrame.m, byFrame.dom(op.who), op.start + n)) n++;
      expect(done, JSON.stringify(op)).toBe(n);
    }
    expect(JSON.stringify(inspect(byRange.m)), JSON.stringify(op)).toBe(JSON.stringify(inspect(byFrame.m)));
  }
}

describe('PV decrease_reservation: a range by extents = gmfn by gmfn', () => {
  it('regression: a frame given back while referenced stops the next range over it', () => {
    runPvRanges(false, [
      { k: 'map', bfn: 0x90000, mfn: 0x120 },
      { k: 'dec', who: 'dom0', start: 0x120, len: 1 },
      { k: 'dec', who: 'dom0', start: 0x118, len: 16 },
      { k: 'unmap', bfn: 0x90000 },
      { k: 'dec', who: 'dom0', start: 0x118, len: 16 },
    ]);
  });
  it(`${LONG ? '10,000' : '200'} random sequences of range decreases, map_page references and populate (P2M with and without aliased frames)`, { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(pvOpArb, { minLength: 1, maxLength: 25 }), (aliased, ops) => runPvRanges(aliased, ops)),
      opts(200),
    );
  });
});

// ─── ta map_pages / unmap_pages: nr_pages at once = one page per call ───────────────────────

type TaOp =
  | { k: 'map'; who: 'vm2' | 'dom0'; gfn: number; dfn: number; nr: number }
  | { k: 'unmap'; who: 'vm2' | 'dom0'; dfn: number; nr: number }
  | { k: 'dec'; gfn: number; len: number }
  | { k: 'move'; idx: number; gpfn: number }
  | { k: 'alias'; gfn: number };

const near = (...at: number[]) => fc.oneof(...at.map((x) => fc.integer({ min: x - 0x10, max: x + 0x10 })));
// DFNs: free ones, the RMRR region, where a DFN wraps (Intel, 48-bit: 2^36 frames), the model's last frame (2^52 − 1)
const taDfn = near(0x80010, 0x3f00, 0x3f10, 2 ** 36, 2 ** 52 - 8);
const taOpArb: fc.Arbitrary<TaOp> = fc.oneof(
  // vm2 (HVM, gfn g = mfn 0x1900 + g, gfns 0-0x7ff; its nic's RMRR 0x3f00-0x3f0f is reserved in context 1)
  { weight: 4, arbitrary: fc.record({ k: fc.constant('map' as const), who: fc.constant('vm2' as const), gfn: near(0x10, 0x7f8, 0x3f00), dfn: taDfn, nr: fc.integer({ min: 1, max: 40 }) }) },
  // dom0 (PV, the hardware domain: any page; free frames 0x2500-0x3fff, the nic's RMRR 0x3f00-0x3f0f; no RAM from 0x4000)
  { weight: 4, arbitrary: fc.record({ k: fc.constant('map' as const), who: fc.constant('dom0' as const), gfn: near(0x100, 0x10f8, 0x2500, 0x3f00, 0x3ff8, 2 ** 52 - 8), dfn: taDfn, nr: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('unmap' as const), who: fc.constantFrom('vm2' as const, 'dom0' as const), dfn: taDfn, nr: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dec' as const), gfn: near(0x10, 0x7f8), len: fc.integer({ min: 1, max: 4 }) }) },
  // add_to_physmap: vm2's page at gfn idx moves to gpfn (a hole in the line of gfns, the page still vm2's)
  { weight: 1, arbitrary: fc.record({ k: fc.constant('move' as const), idx: near(0x10, 0x7f8), gpfn: near(0x9000) }) },
  // eight gfns of vm2 from gfn onto mfns 0x20fc-0x2103: vm2's last four frames, then vm3's
  { weight: 1, arbitrary: fc.record({ k: fc.constant('alias' as const), gfn: near(0x10, 0x9000) }) },
);

function runTaRuns(ops: TaOp[]): void {
  const text = lab({ abi: 'ta', vm2: 'pv_iommu: true', nic: 'rmrr: ["0x3f00-0x3f0f"]' });
  const [atOnce, byPage] = [env(text), env(text)];
  for (const e of [atOnce, byPage]) {
    for (const who of ['vm2', 'dom0']) {
      expect(taInit(e.ctx(who), { max_ctx_no: 2 }).errno).toBe('OK');
      expect(taAllocContext(e.ctx(who), {}).out).toEqual({ ctx_no: 1 });
    }
    expect(taReattachDevice(e.ctx('vm2'), { ctx_no: 1, device: '0000:03:00.0' }).errno).toBe('OK');
  }
  const RW = IOMMU_MAP_readable | IOMMU_MAP_writeable;
  for (const op of ops) {
    const what = JSON.stringify(op);
    if (op.k === 'dec') {
      for (const e of [atOnce, byPage]) decreaseReservation(e.ctx('vm2'), { gfns: frameList([{ start: op.gfn, end: op.gfn + op.len - 1 }]) });
    } else if (op.k === 'move') {
      for (const e of [atOnce, byPage]) addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: op.idx, gpfn: op.gpfn });
    } else if (op.k === 'alias') {
      for (const e of [atOnce, byPage]) e.dom('vm2').p2m.set(op.gfn, op.gfn + 7, { base: 0x20fc, type: 'ram_rw' });
    } else {
      const one = (i: number) =>
        op.k === 'map'
          ? taMapPages(byPage.ctx(op.who), { ctx_no: 1, gfn: op.gfn + i, dfn: op.dfn + i, nr_pages: 1, flags: RW })
          : taUnmapPages(byPage.ctx(op.who), { ctx_no: 1, dfn: op.dfn + i, nr_pages: 1 });
      const all =
        op.k === 'map'
          ? taMapPages(atOnce.ctx(op.who), { ctx_no: 1, gfn: op.gfn, dfn: op.dfn, nr_pages: op.nr, flags: RW })
          : taUnmapPages(atOnce.ctx(op.who), { ctx_no: 1, dfn: op.dfn, nr_pages: op.nr });
      // Xen's loop, one page per call, up to the first error (which is the call's result).
      let n = 0;
      let errno = 'OK';
      for (; n < op.nr; n++) {
        const r = one(n);
        if (r.errno !== 'OK') {
          errno = r.errno;
          break;
        }
      }
      expect(all.errno, what).toBe(errno);
      expect(all.out[op.k === 'map' ? 'mapped' : 'unmapped'], what).toBe(n);
    }
    expect(JSON.stringify(inspect(atOnce.m)), what).toBe(JSON.stringify(inspect(byPage.m)));
  }
}

describe('ta map_pages / unmap_pages: nr_pages at once = one page per call', () => {
  it('regression: an unmap run stops at a reserved region, even where it is mapped (1:1)', () => {
    runTaRuns([
      { k: 'map', who: 'vm2', gfn: 0x10, dfn: 0x3ef8, nr: 8 },
      { k: 'unmap', who: 'vm2', dfn: 0x3ef8, nr: 16 },
    ]);
  });
  it('regression: a map run stops where the p2m extent ends, though the next mfn is still the caller’s page', () => {
    runTaRuns([
      { k: 'move', idx: 0x20, gpfn: 0x9000 },
      { k: 'map', who: 'vm2', gfn: 0x1c, dfn: 0x80000, nr: 8 },
    ]);
  });
  it('regression: a map run stops at the first page of another owner inside one p2m extent', () => {
    runTaRuns([
      { k: 'alias', gfn: 0x9000 },
      { k: 'map', who: 'vm2', gfn: 0x9000, dfn: 0x80000, nr: 8 },
    ]);
  });
  it(`${LONG ? '10,000' : '200'} random sequences over reserved regions, holes, other owners, free frames, MMIO and DFNs that wrap`, { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.array(taOpArb, { minLength: 1, maxLength: 20 }), (ops) => runTaRuns(ops)),
      opts(200),
    );
  });
});
