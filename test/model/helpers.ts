/**
 * Build a validated HostConfig from concise input, as the loader + validator would: every document
 * goes through its zod schema (so defaults and unit parsing are the real ones), then the pieces are
 * assembled like validate.ts does. Input errors throw (tests give valid documents).
 */
import { DeviceSchema, DomainSchema, HostSchema } from '../../src/config/schema.js';
import type { DocSource } from '../../src/config/source.js';
import type { DeviceCfg, DomainCfg, HostConfig } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import type { Machine } from '../../src/model/types.js';

export const SRC: DocSource = {
  file: 't.yaml',
  index: 0,
  locate: () => ({ file: 't.yaml', line: 1, column: 1, endLine: 1, endColumn: 1 }),
};

type Obj = Record<string, unknown>;

export interface HostInputs {
  /** Host keys (name defaults to "h"); e.g. `{ ram: '1GiB', iommu: { dom0: 'strict' } }`. */
  host?: Obj;
  devices?: Obj[];
  domains?: Obj[];
}

export function hostConfig(inp: HostInputs): HostConfig {
  const h = HostSchema.parse({ apiVersion: 'pviommu/v1', kind: 'Host', name: 'h', ...inp.host });
  const { xen_mfns, ...rest } = h;
  const xen = xen_mfns === undefined ? [] : Array.isArray(xen_mfns) ? xen_mfns : [xen_mfns];
  const devices: DeviceCfg[] = (inp.devices ?? []).map((d) => ({
    ...DeviceSchema.parse({ apiVersion: 'pviommu/v1', kind: 'Device', ...d }),
    src: SRC,
    hostName: h.name,
  }));
  const domains: DomainCfg[] = (inp.domains ?? []).map((d) => {
    const p = DomainSchema.parse({ apiVersion: 'pviommu/v1', kind: 'Domain', ...d });
    return {
      ...p,
      src: SRC,
      hostName: h.name,
      maxmem: p.maxmem ?? p.memory,
      trusted: p.trusted ?? (p.role === 'hardware' || p.role === 'control'),
    };
  });
  devices.sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0));
  domains.sort((a, b) => a.domid - b.domid);
  return { host: { ...rest, xen_mfns: xen, src: SRC }, devices, domains, scenarios: [], inputErrors: false };
}

export function machine(inp: HostInputs): Machine {
  return buildMachine(hostConfig(inp));
}

/** Shorthands for domain documents. */
export const dom0 = (extra: Obj = {}): Obj => ({ name: 'dom0', domid: 0, type: 'pv', role: 'hardware', memory: '4MiB', ...extra });
export const guest = (name: string, domid: number, extra: Obj = {}): Obj => ({ name, domid, type: 'hvm', memory: '4MiB', ...extra });

/** A map's extents as [start, end, value] triples (values as stored). */
export function triples<T>(map: { toArray(): { start: number; end: number; value: T }[] }): [number, number, T][] {
  return map.toArray().map((e) => [e.start, e.end, e.value]);
}

/** p2m extents as [gfnStart, gfnEnd, mfnBase, type]. */
export function p2mOf(m: Machine, domid: number): [number, number, number, string][] {
  return m.domains.get(domid)!.p2m.toArray().map((e) => [e.start, e.end, e.value.base, e.value.type]);
}

/** IOMMU table extents as [dfnStart, dfnEnd, mfnBase, perms, origin(+follows)]. */
export function tableOf(ctx: { table: { toArray(): { start: number; end: number; value: { base: number; r: boolean; w: boolean; origin: string; follows?: true; ref: boolean } }[] } }): [number, number, number, string, string][] {
  return ctx.table.toArray().map((e) => [
    e.start,
    e.end,
    e.value.base,
    (e.value.r ? 'r' : '-') + (e.value.w ? 'w' : '-'),
    e.value.origin + (e.value.follows ? '+f' : '') + (e.value.ref ? '+ref' : ''),
  ]);
}

/** Page extents as [start, end, owner, allocated, refs]. */
export function pagesOf(m: Machine): [number, number, number, boolean, number][] {
  return m.pages.toArray().map((e) => [e.start, e.end, e.value.owner, e.value.allocated, e.value.refs]);
}
