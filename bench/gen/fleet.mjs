#!/usr/bin/env node
/**
 * Deterministic generator of a fleet config repo (for `npm run bench` and test/shard.test.ts).
 *
 *   node bench/gen/fleet.mjs OUTDIR [--hosts 400] [--domains-per-host 25] [--ram 256GiB]
 *                                   [--seed 1] [--fault-rate 0.02] [--extras]
 *
 * Layout (one repo, like a real config repo of a fleet):
 *   hosts/<host>/host.yaml               Host: E820 memory_map (every other host) or `ram`,
 *                                        Xen's frames, VT-d, strict dom0, PV-IOMMU xs ABI
 *   hosts/<host>/devices.yaml            several documents: the iGPU (RMRR, mediated to vm01+vm02
 *                                        through the PV-IOMMU), SATA, USB (RMRR), an SR-IOV NIC
 *                                        PF and up to 8 VFs
 *   hosts/<host>/domains/<name>.yaml     dom0 (PV, hardware) and HVM / PV / PVH guests; the first
 *                                        guests get a VF each; one ballooning guest (maxmem >
 *                                        memory, no devices)
 *   hosts/<host>/scenarios/gvt-shadow.yaml   the GVT-g shadow-GTT scenario (pin, DMA, balloon)
 *   ci/pipeline.yaml                     a YAML file that is not pviommu's (skipped)
 * With --extras also: broken.yaml (not valid YAML) and strays/orphan.yaml (a Domain naming a
 * host no document defines).
 *
 * The documents are valid and check clean, except on about `fault-rate` of the hosts, which get
 * one injected mistake each (a device assigned twice, memory > maxmem, a misspelt key, an
 * unknown device, a permissive pci entry). Domain memory sizes scale with `--ram`, the document
 * count does not: two fleets that differ only in `--ram` have the same shape and byte count
 * within a few bytes per file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seeded } from './rng.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const PAGE = 4096;

/** "256GiB" → bytes. */
export function parseSize(s) {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(String(s).trim());
  if (!m) throw new Error(`bad size ${s} (use e.g. 16GiB, 1TiB)`);
  const unit = { B: 1, KiB, MiB, GiB, TiB }[m[2] ?? 'B'];
  return Number(m[1]) * unit;
}

/** Bytes → the largest binary unit that divides them exactly. */
function size(bytes) {
  for (const [u, n] of [['TiB', TiB], ['GiB', GiB], ['MiB', MiB], ['KiB', KiB]]) {
    if (bytes % n === 0) return `${bytes / n}${u}`;
  }
  return String(bytes);
}

const hex = (n) => `0x${n.toString(16)}`;
const pad = (n, w) => String(n).padStart(w, '0');

/** Default shape of the bench fleet: 400 hosts × 25 domains = 10,000 domains. */
export const DEFAULTS = { hosts: 400, domainsPerHost: 25, ram: '256GiB', seed: 1, faultRate: 0.02, extras: false };

export const FAULTS = ['multiple-owners', 'maxmem', 'typo', 'unknown-device', 'permissive'];

/**
 * Write the fleet into `dir` (created if needed). Returns what was written:
 * { files, bytes, documents, hosts, domains, devices, scenarios, skipped, faults: [{host, fault}] }.
 */
export function generateFleet(dir, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const ram = typeof o.ram === 'number' ? o.ram : parseSize(o.ram);
  if (ram < 8 * GiB || ram % GiB) throw new Error('--ram must be a whole number of GiB, at least 8GiB');
  const rnd = seeded(o.seed);
  const stats = { files: 0, bytes: 0, documents: 0, hosts: 0, domains: 0, devices: 0, scenarios: 0, skipped: 0, faults: [] };
  const made = new Set();
  const write = (rel, text) => {
    const abs = path.join(dir, rel);
    const d = path.dirname(abs);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(abs, text);
    stats.files++;
    stats.bytes += Buffer.byteLength(text);
  };

  const width = Math.max(4, String(o.hosts).length);
  for (let h = 0; h < o.hosts; h++) {
    const name = `host-${pad(h, width)}`;
    const fault = rnd.chance(o.faultRate) ? FAULTS[rnd.int(FAULTS.length)] : undefined;
    if (fault) stats.faults.push({ host: name, fault });
    writeHost(write, stats, rnd, name, h, ram, o.domainsPerHost, fault);
  }

  write(
    'ci/pipeline.yaml',
    '# CI of the config repo itself: not a pviommu document (skipped by check)\n' +
      'on:\n  push:\n    branches: [main]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n' +
      '    steps:\n      - uses: actions/checkout@v4\n      - run: npx pviommu check . --format sarif -o pviommu.sarif\n',
  );
  stats.skipped++;
  if (o.extras) {
    write('broken.yaml', 'apiVersion: pviommu/v1\nkind: Domain\nname: half-written\n  domid: [3\n');
    write(
      'strays/orphan.yaml',
      'apiVersion: pviommu/v1\nkind: Domain\nname: orphan\nhost: no-such-host   # a host that was decommissioned\n' +
        'domid: 7\ntype: hvm\nmemory: 2GiB\n',
    );
    stats.documents += 1;
    stats.domains += 1;
  }
  return stats;
}

function writeHost(write, stats, rnd, name, h, ram, domainsPerHost, fault) {
  const dir = `hosts/${name}`;
  const frames = ram / PAGE;
  const e820 = h % 2 === 0;
  // Host --------------------------------------------------------------------------------------
  let host =
    `# ${name}: rack ${Math.floor(h / 16)}, slot ${h % 16}. ${size(ram)} of RAM, VT-d, GVT-g capable iGPU.\n` +
    'apiVersion: pviommu/v1\nkind: Host\n' +
    `name: ${name}\ncpu_vendor: intel\n`;
  let topFrame; // highest RAM MFN + 1
  if (e820) {
    // low RAM below the 4 GiB PCI hole, with the iGPU's stolen memory and a USB RMRR carved out
    const segments = [
      [0x0, 0x9e, 'ram'],
      [0x9f, 0xff, 'reserved', '  # legacy VGA / BIOS'],
      [0x100, 0x7b7ff, 'ram'],
      [0x7b800, 0x7ffff, 'reserved', '  # iGPU stolen memory (its RMRR)'],
      [0x80000, 0xbcfff, 'ram'],
      [0xbd000, 0xbd0ff, 'reserved', '  # USB controller RMRR'],
      [0xbd100, 0xbffff, 'ram'],
      [0xc0000, 0xfffff, 'mmio', '  # PCI hole below 4 GiB'],
    ];
    const low = segments.filter((s) => s[2] === 'ram').reduce((n, s) => n + s[1] - s[0] + 1, 0);
    topFrame = 0x100000 + (frames - low);
    segments.push([0x100000, topFrame - 1, 'ram', '  # RAM above 4 GiB']);
    host += 'memory_map:                          # host E820, 4 KiB frames, inclusive\n';
    for (const [s, e, t, c] of segments) host += `  - { mfns: "${hex(s)}-${hex(e)}", type: ${t} }${c ?? ''}\n`;
  } else {
    topFrame = frames;
    host += `ram: ${size(ram)}\n`;
  }
  // the foreign BFN window above all host RAM: 248 GiB (Xen's default) when RAM fits below it
  let foreign = 0x3e00000;
  while (foreign < topFrame) foreign *= 2;
  host +=
    'xen_mfns: "0x100-0x8ff"              # Xen itself\n' +
    'iommu:\n  enabled: true\n  address_width: 48\n  dom0: strict                       # dom0 devices reach dom0 RAM only\n' +
    '  quarantine: basic\n' +
    `pv_iommu:\n  abi: xs\n  foreign_offset: ${hex(foreign)}\n`;
  write(`${dir}/host.yaml`, host);
  stats.documents++;
  stats.hosts++;

  // Domains (decided first: devices name their vgpus) ------------------------------------------
  const guests = Math.max(0, domainsPerHost - 1);
  const nVf = Math.min(8, guests);
  const doms = [];
  for (let j = 1; j <= guests; j++) {
    let type = rnd.float() < 0.65 ? 'hvm' : rnd.float() < 0.57 ? 'pv' : 'pvh';
    if (j <= 2 || j === 3) type = 'hvm';
    doms.push({ j, name: `vm${pad(j, 2)}`, type, weight: rnd.pick([1, 2, 2, 4]), vf: undefined, balloon: j === 3 });
  }
  // VFs to the first guests that can take one (not pvh, not the ballooning one)
  let vf = 0;
  for (const d of doms) {
    if (vf >= nVf) break;
    if (d.type === 'pvh' || d.balloon) continue;
    d.vf = vf++;
  }
  const vfsUsed = vf;

  // Devices -----------------------------------------------------------------------------------
  const devDocs = [];
  const vgpus = doms.filter((d) => d.j <= 2).map((d) => d.name);
  devDocs.push(
    `# PCI functions of ${name}\napiVersion: pviommu/v1\nkind: Device\nname: igd\nhost: ${name}\nbdf: "0000:00:02.0"\n` +
      'class: display\ndma_bits: 46\nrmrr: ["0x7b800-0x7ffff"]      # stolen memory, reached 1:1\n' +
      (vgpus.length ? `mediated:                      # GVT-g: one GPU, shadow GTTs per guest\n  vgpus: [${vgpus.join(', ')}]\n  translation: pv-iommu\n` : ''),
  );
  devDocs.push(`apiVersion: pviommu/v1\nkind: Device\nname: sata\nhost: ${name}\nbdf: "00:17.0"\nclass: storage             # dom0's root disk\n`);
  devDocs.push(`apiVersion: pviommu/v1\nkind: Device\nname: xhci\nhost: ${name}\nbdf: "0000:00:14.0"\nclass: usb\nrmrr:\n  - { start: 0xbd000, pages: 256 }\n`);
  devDocs.push(`apiVersion: pviommu/v1\nkind: Device\nname: nic-pf\nhost: ${name}\nbdf: "0000:03:00.0"\nclass: network            # SR-IOV PF, kept by dom0\n`);
  for (let k = 0; k < Math.max(vfsUsed, 2); k++) {
    devDocs.push(
      `apiVersion: pviommu/v1\nkind: Device\nname: nic-vf${pad(k, 2)}\nhost: ${name}\nbdf: "0000:03:10.${k}"\nclass: network\n` +
        `pf: "0000:03:00.0"\nassignable: true             # xl pci-assignable-add 03:10.${k}\n`,
    );
  }
  write(`${dir}/devices.yaml`, devDocs.join('---\n'));
  stats.documents += devDocs.length;
  stats.devices += devDocs.length;

  // Domain documents --------------------------------------------------------------------------
  const dom0Mem = Math.max(GiB, ram / 16);
  write(
    `${dir}/domains/dom0.yaml`,
    `apiVersion: pviommu/v1\nkind: Domain\nname: dom0\nhost: ${name}\ndomid: 0\ntype: pv\n` +
      `role: hardware                 # also the control domain\nmemory: ${size(dom0Mem)}\n`,
  );
  stats.documents++;
  stats.domains++;
  const totalWeight = doms.reduce((n, d) => n + d.weight + (d.balloon ? d.weight / 2 : 0), 0);
  const unit = Math.max(256 * MiB, Math.floor((ram * 0.7) / Math.max(1, totalWeight) / (64 * MiB)) * 64 * MiB);
  for (const d of doms) {
    const memory = unit * d.weight;
    let t = `# ${d.name} on ${name}\napiVersion: pviommu/v1\nkind: Domain\nname: ${d.name}\nhost: ${name}\ndomid: ${d.j}\ntype: ${d.type}\n`;
    t += fault === 'typo' && d.j === guests ? `memroy: ${size(memory)}\n` : `memory: ${size(memory)}\n`;
    if (d.balloon) t += `maxmem: ${size(memory + memory / 2)}      # balloons up on demand; no devices\n`;
    if (fault === 'maxmem' && d.j === guests && !d.balloon) t += `maxmem: ${size(memory / 2)}\n`;
    if (d.type === 'hvm' && d.j % 5 === 0) t += 'hap: false\n';
    if (d.type === 'hvm' && d.j % 7 === 0) t += 'rdm: { strategy: host }\nrdm_mem_boundary: 1536MiB        # low RAM ends below the RMRRs\n';
    if (d.j % 11 === 0) t += 'device_model: dom0\n';
    const pci = [];
    if (d.vf !== undefined) pci.push({ dev: `nic-vf${pad(d.vf, 2)}`, vslot: 5 });
    if (fault === 'multiple-owners' && d.j === guests && d.vf !== 0 && vfsUsed > 0) pci.push({ dev: 'nic-vf00' });
    if (fault === 'unknown-device' && d.j === guests) pci.push({ dev: 'nic-vf99' });
    if (fault === 'permissive' && d.vf === 0) pci[0].permissive = true;
    if (pci.length && d.type === 'pvh') t = t.replace('type: pvh', 'type: hvm');
    if (pci.length) {
      t += 'pci:\n';
      for (const p of pci) {
        t += `  - dev: ${p.dev}\n`;
        if (p.vslot !== undefined) t += `    vslot: ${hex(p.vslot)}\n`;
        if (p.permissive) t += '    permissive: true\n';
      }
    }
    write(`${dir}/domains/${d.name}.yaml`, t);
    stats.documents++;
    stats.domains++;
  }

  // Scenario ----------------------------------------------------------------------------------
  if (guests >= 3) {
    const b = doms[2]; // the ballooning hvm guest
    const bFrames = (unit * b.weight) / PAGE;
    const lowFrames = (4 * GiB - 256 * MiB) / PAGE;
    const above = 0x100000 + Math.max(0, bFrames - lowFrames) + 0x1000;
    write(
      `${dir}/scenarios/gvt-shadow.yaml`,
      '# The GVT-g mediator pins vm01\'s GTT page through the PV-IOMMU; vm01 balloons it out; vm03\n' +
        '# grows and must not get it; a late DMA still lands in vm01\'s pinned page.\n' +
        `apiVersion: pviommu/v1\nkind: Scenario\nname: gvt-shadow\nhost: ${name}\ncalls:\n` +
        `  - op: iommu.lookup_foreign_page\n    domid: ${doms[0].name}\n    gfn: 0x100\n    expect: { status: 0 }\n` +
        `  - op: device.dma\n    device: igd\n    bfn_of: 0\n    access: write\n    target: { domain: ${doms[0].name}, gfn: 0x100 }\n` +
        `  - op: memory.decrease_reservation\n    caller: ${doms[0].name}\n    gfns: ["0x100"]\n    expect: { done: 1 }\n` +
        `  - op: memory.populate_physmap\n    caller: ${b.name}\n    gfns: ["${hex(above)}"]\n    expect: { done: 1 }\n` +
        '  - op: device.dma\n    device: igd\n    bfn_of: 0\n    access: write\n' +
        '  - op: iommu.unmap_foreign_page\n    bfn_of: 0\n    expect: { status: 0 }\n',
    );
    stats.documents++;
    stats.scenarios++;
  }
}

// ─── CLI ─────────────────────────────────────────────────────────────────────────────────────

function cli(argv) {
  const out = argv[0];
  if (!out || out.startsWith('-')) {
    console.error('usage: node bench/gen/fleet.mjs OUTDIR [--hosts N] [--domains-per-host N] [--ram 256GiB] [--seed N] [--fault-rate F] [--extras]');
    process.exit(2);
  }
  const o = {};
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--extras') o.extras = true;
    else if (a === '--hosts') o.hosts = Number(argv[++i]);
    else if (a === '--domains-per-host') o.domainsPerHost = Number(argv[++i]);
    else if (a === '--ram') o.ram = argv[++i];
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--fault-rate') o.faultRate = Number(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  const s = generateFleet(out, o);
  console.log(JSON.stringify({ dir: out, ...s, faults: s.faults.length }));
}

if (import.meta.url === `file://${process.argv[1]}`) cli(process.argv.slice(2));
