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
  return named(m.domains, domainIndex, name, (d) => d.name, (d) => d.domid);
}

/** The device whose Device document is named `name`, or undefined. */
export function deviceNamed(m: Machine, name: string): DeviceModel | undefined {
  return named(m.devices, deviceIndex, name, (d) => d.cfg.name, (d) => d.bdf);
}

/** The item of `map` named `name` (`nameOf`), through its index in `indexes` (`keyOf`: its key). */
function named<K, T>(
  map: Map<K, T>,
  indexes: WeakMap<Map<K, T>, Map<string, T>>,
  name: string,
  nameOf: (x: T) => string,
  keyOf: (x: T) => K,
): T | undefined {
  const hit = indexes.get(map)?.get(name);
  if (hit !== undefined && nameOf(hit) === name && map.get(keyOf(hit)) === hit) return hit;
  let found: T | undefined;
  for (const x of map.values()) {
    if (nameOf(x) === name) {
      found = x;
      break;
    }
  }
  if (found === undefined) return undefined;
  // Found by the walk, not by the index: the index is stale (or not built yet).
  const idx = new Map<string, T>();
  for (const x of map.values()) if (!idx.has(nameOf(x))) idx.set(nameOf(x), x);
  indexes.set(map, idx);
  return found;
}
