/**
 * Domains and devices of a machine by name. A trace names its callers, target domains and devices
 * on almost every line; walking every domain for each name cost ~2% of a run on a host of 30
 * domains. An index by name is built the first time a name is found, and every hit is checked
 * against the machine's map (still there, same name), so an index made before the map changed
 * never answers wrongly: a miss walks the map as before, and rebuilds the index when the walk
 * finds the name. (Names are unique on a host whose config validates — `ref/duplicate` — so a hit
 * that passes the check is the one domain of that name, the walk's answer. Two domains of one
 * name, which only a hand-built machine can have, get the first the index saw.)
 */
import type { DeviceModel, DomainModel, DomId, Machine } from './types.js';

const domainIndex = new WeakMap<Map<DomId, DomainModel>, Map<string, DomainModel>>();
const deviceIndex = new WeakMap<Map<string, DeviceModel>, Map<string, DeviceModel>>();

/** The domain named `name`, or undefined. */
export function domainNamed(m: Machine, name: string): DomainModel | undefined {
  const hit = domainIndex.get(m.domains)?.get(name);
  if (hit !== undefined && hit.name === name && m.domains.get(hit.domid) === hit) return hit;
  const found = first(m.domains.values(), (d) => d.name === name);
  // Found by the walk, not by the index: the index is stale (or not built yet).
  if (found !== undefined) domainIndex.set(m.domains, index(m.domains.values(), (d) => d.name));
  return found;
}

/** The device whose Device document is named `name`, or undefined. */
export function deviceNamed(m: Machine, name: string): DeviceModel | undefined {
  const hit = deviceIndex.get(m.devices)?.get(name);
  if (hit !== undefined && hit.cfg.name === name && m.devices.get(hit.bdf) === hit) return hit;
  const found = first(m.devices.values(), (d) => d.cfg.name === name);
  if (found !== undefined) deviceIndex.set(m.devices, index(m.devices.values(), (d) => d.cfg.name));
  return found;
}

function first<T>(items: Iterable<T>, pred: (x: T) => boolean): T | undefined {
  for (const x of items) if (pred(x)) return x;
  return undefined;
}

/** name → the first item with it. */
function index<T>(items: Iterable<T>, nameOf: (x: T) => string): Map<string, T> {
  const idx = new Map<string, T>();
  for (const x of items) {
    const n = nameOf(x);
    if (!idx.has(n)) idx.set(n, x);
  }
  return idx;
}
