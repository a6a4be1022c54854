#!/usr/bin/env node
/**
 * Deterministic generator of a JSON Lines hypercall trace (for `npm run bench`), to run with
 *
 *   pviommu emulate REPO --trace FILE.jsonl --host host-0000
 *
 * against a host written by fleet.mjs (`--hosts 1 --fault-rate 0`): PV dom0 on a strict VT-d
 * IOMMU with the xs PV-IOMMU, the mediated iGPU `igd` (vgpus vm01, vm02) and the ballooning
 * guest vm03 (maxmem > memory).
 *
 *   node bench/gen/trace.mjs OUT.jsonl [--calls 1000000] [--seed 1]
 *
 * The mix (about): 22% iommu.map_page, 16% iommu.unmap_page, 14% iommu.lookup_foreign_page,
 * 8% iommu.unmap_foreign_page, 9% memory.populate_physmap, 9% memory.decrease_reservation,
 * 22% device.dma (through dom0's own mappings, or through the foreign window with a target).
 * The generator tracks what it has mapped, pinned and populated so that nearly every call
 * succeeds, as in a trace recorded from a working mediator; one call in ten carries an
 * `expect`. dom0's frames are used as raw GFNs (a PV domain's GFN is its MFN): the frames
 * 0x1000..0x6ffff, which dom0 gets first on such a host. BFNs of map_page come from a pool
 * at 0x5000000, above host RAM and below the foreign window.
 */
import { generatorCli, jsonlWriter } from './jsonl.mjs';
import { seeded } from './rng.mjs';

const hex = (n) => `0x${n.toString(16)}`;

export const TRACE_DEFAULTS = { calls: 1_000_000, seed: 1 };

/** Write the trace to `file`. Returns { calls, bytes, mix: {op: count} }. */
export function generateTrace(file, options = {}) {
  const o = { ...TRACE_DEFAULTS, ...options };
  const rnd = seeded(o.seed);
  const POOL = 8192; // map_page BFN slots
  const BFN_BASE = 0x5000000;
  const mapped = new Int32Array(POOL).fill(-1); // slot → dom0 frame mapped there, or -1
  const mappedSlots = []; // slots currently mapped (unordered)
  const slotPos = new Int32Array(POOL).fill(-1);
  const pins = []; // call indexes of live lookups (their out.bfn is a pinned foreign page)
  const pinTarget = new Map(); // call index → [domain, gfn]
  const pinnedKey = new Set(); // "domain:gfn" pinned (a repeat lookup would not add a pin)
  const populated = []; // vm03 gfns populated by the trace
  const popSet = new Set();
  const POP_BASE = 0x4000000; // GFN 256 GiB: above vm03's automatic RAM on fleet.mjs hosts up to 1 TiB
  const POP_SPAN = 4096;
  const mix = {};

  const w = jsonlWriter(file);
  const emit = (op, obj) => {
    mix[op] = (mix[op] ?? 0) + 1;
    w.line(obj);
  };
  const addSlot = (s, frame) => {
    mapped[s] = frame;
    slotPos[s] = mappedSlots.length;
    mappedSlots.push(s);
  };
  const dropSlot = (s) => {
    const i = slotPos[s];
    const last = mappedSlots.pop();
    if (last !== s) {
      mappedSlots[i] = last;
      slotPos[last] = i;
    }
    slotPos[s] = -1;
    mapped[s] = -1;
  };
  const expect = (e) => (rnd.chance(0.1) ? { expect: e } : {});

  for (let i = 0; i < o.calls; i++) {
    const r = rnd.float();
    if (r < 0.22 || (r < 0.38 && mappedSlots.length === 0)) {
      // map one of dom0's frames at a free pool BFN
      let s = rnd.int(POOL);
      for (let k = 0; k < 8 && mapped[s] >= 0; k++) s = rnd.int(POOL);
      if (mapped[s] >= 0) {
        const victim = mappedSlots[rnd.int(mappedSlots.length)];
        emit('iommu.unmap_page', { op: 'iommu.unmap_page', bfn: hex(BFN_BASE + victim), ...expect({ status: 0 }) });
        dropSlot(victim);
        continue;
      }
      const frame = 0x1000 + rnd.int(0x6f000);
      emit('iommu.map_page', { op: 'iommu.map_page', bfn: hex(BFN_BASE + s), gfn: hex(frame), flags: ['read', 'write'], ...expect({ status: 0 }) });
      addSlot(s, frame);
    } else if (r < 0.38) {
      const s = mappedSlots[rnd.int(mappedSlots.length)];
      emit('iommu.unmap_page', { op: 'iommu.unmap_page', bfn: hex(BFN_BASE + s), ...expect({ status: 0 }) });
      dropSlot(s);
    } else if (r < 0.52 || (r < 0.6 && pins.length === 0)) {
      const dom = rnd.chance(0.5) ? 'vm01' : 'vm02';
      const gfn = 0x100 + rnd.int(0x8000);
      const key = `${dom}:${gfn}`;
      emit('iommu.lookup_foreign_page', { op: 'iommu.lookup_foreign_page', domid: dom, gfn: hex(gfn), ...expect({ status: 0 }) });
      if (!pinnedKey.has(key)) {
        pinnedKey.add(key);
        pins.push(i);
        pinTarget.set(i, [dom, gfn]);
      }
    } else if (r < 0.6) {
      const j = rnd.int(pins.length);
      const idx = pins[j];
      pins[j] = pins[pins.length - 1];
      pins.pop();
      const [dom, gfn] = pinTarget.get(idx);
      pinTarget.delete(idx);
      pinnedKey.delete(`${dom}:${gfn}`);
      emit('iommu.unmap_foreign_page', { op: 'iommu.unmap_foreign_page', bfn_of: idx, ...expect({ status: 0 }) });
    } else if (r < 0.69 || (r < 0.78 && populated.length === 0)) {
      let gfn = POP_BASE + rnd.int(POP_SPAN);
      for (let k = 0; k < 8 && popSet.has(gfn); k++) gfn = POP_BASE + rnd.int(POP_SPAN);
      if (popSet.has(gfn)) {
        emit('memory.decrease_reservation', { op: 'memory.decrease_reservation', caller: 'vm03', gfns: [hex(gfn)], ...expect({ done: 1 }) });
        popSet.delete(gfn);
        populated.splice(populated.indexOf(gfn), 1);
        continue;
      }
      emit('memory.populate_physmap', { op: 'memory.populate_physmap', caller: 'vm03', gfns: [hex(gfn)], ...expect({ done: 1 }) });
      popSet.add(gfn);
      populated.push(gfn);
    } else if (r < 0.78) {
      const j = rnd.int(populated.length);
      const gfn = populated[j];
      populated[j] = populated[populated.length - 1];
      populated.pop();
      popSet.delete(gfn);
      emit('memory.decrease_reservation', { op: 'memory.decrease_reservation', caller: 'vm03', gfns: [hex(gfn)], ...expect({ done: 1 }) });
    } else {
      const access = rnd.chance(0.6) ? 'write' : 'read';
      if (pins.length && (mappedSlots.length === 0 || rnd.chance(0.4))) {
        const idx = pins[rnd.int(pins.length)];
        const [dom, gfn] = pinTarget.get(idx);
        emit('device.dma', { op: 'device.dma', device: 'igd', bfn_of: idx, access, target: { domain: dom, gfn: hex(gfn) } });
      } else if (mappedSlots.length) {
        const s = mappedSlots[rnd.int(mappedSlots.length)];
        emit('device.dma', { op: 'device.dma', device: 'igd', bfn: hex(BFN_BASE + s), access });
      } else {
        emit('iommu.query_caps', { op: 'iommu.query_caps' });
      }
    }
  }
  return { calls: o.calls, bytes: w.close(), mix };
}

if (import.meta.url === `file://${process.argv[1]}`) generatorCli('trace.mjs', generateTrace, process.argv.slice(2));
