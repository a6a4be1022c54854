/**
 * Test helpers for the emulator: hosts from YAML text (through the real loader and validator), a
 * fresh machine, an OpContext for calling ops directly, and scenario runs.
 */
import { loadPaths, loadText } from '../../src/config/load.js';
import { validateDocs, type HostConfig, type ScenarioCfg } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import type { DomainModel, Machine } from '../../src/model/types.js';
import type { Finding } from '../../src/policy/types.js';
import type { Abi, CallResult, EmulateReport, OpContext } from '../../src/hypercalls/types.js';
import { runScenario, withAbi } from '../../src/hypercalls/index.js';

export interface Loaded {
  hc: HostConfig;
  findings: Finding[];
}

/** YAML documents (joined with ---) → the single host's config. Input errors fail the test. */
export function load(text: string, file = 't.yaml'): Loaded {
  const l = loadText(file, text);
  const v = validateDocs(l.docs);
  const findings = [...l.findings, ...v.findings];
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new Error(`input errors:\n${errors.map((f) => `${f.line}:${f.column} ${f.rule} ${f.message}`).join('\n')}`);
  if (v.config.hosts.length !== 1) throw new Error(`expected one host, got ${v.config.hosts.length}`);
  return { hc: v.config.hosts[0]!, findings };
}

export async function loadDir(paths: string[]): Promise<Loaded> {
  const l = await loadPaths(paths);
  const v = validateDocs(l.docs);
  const findings = [...l.findings, ...v.findings];
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new Error(`input errors:\n${errors.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}`).join('\n')}`);
  return { hc: v.config.hosts[0]!, findings };
}

export interface Env {
  hc: HostConfig;
  m: Machine;
  findings: { rule: string; message: string }[];
  /** An OpContext for `caller` (name or domid; default the hardware domain). */
  ctx(caller?: string | number, abi?: Abi): OpContext;
  dom(name: string | number): DomainModel;
}

/** A machine built from YAML (abi: the host's, unless given) and a context factory. */
export function env(text: string, abi?: Abi): Env {
  const { hc } = load(text);
  const h = abi ? withAbi(hc, abi) : hc;
  const m = buildMachine(h);
  const findings: { rule: string; message: string }[] = [];
  const dom = (x: string | number): DomainModel => {
    const d = typeof x === 'number' ? m.domains.get(x) : [...m.domains.values()].find((y) => y.name === x);
    if (!d) throw new Error(`no domain ${x}`);
    return d;
  };
  return {
    hc: h,
    m,
    findings,
    dom,
    ctx: (caller, a) => ({
      machine: m,
      caller: caller === undefined ? m.domains.get(m.hwdom!)! : dom(caller),
      abi: a ?? abi ?? h.host.pv_iommu.abi,
      report: (rule, message) => findings.push({ rule, message }),
    }),
  };
}

/** Run the named (or only) scenario of a YAML text. */
export function scenario(text: string, name?: string): EmulateReport {
  const { hc } = load(text);
  const sc: ScenarioCfg | undefined = name ? hc.scenarios.find((s) => s.name === name) : hc.scenarios[0];
  if (!sc) throw new Error(`no scenario ${name ?? ''}`);
  return runScenario(hc, sc);
}

/** The errno and out of a result, for compact assertions. */
export function brief(r: CallResult): { rc: number; errno: string; out: unknown } {
  return { rc: r.rc, errno: r.errno, out: r.out };
}

/** Rule ids of a report's findings (all, or of call i). */
export function rules(rep: EmulateReport, call?: number): string[] {
  return (call === undefined ? rep.findings : rep.calls[call]!.findings).map((f) => f.rule);
}

export interface LabOptions {
  dom0?: 'relaxed' | 'strict' | 'passthrough';
  abi?: Abi;
  vendor?: 'intel' | 'amd';
  width?: number;
  quarantine?: 'basic' | 'scratch-page' | 'none';
  elfNote?: boolean;
  iommu?: boolean;
  /** Extra YAML documents (without the leading ---). */
  extra?: string[];
  /** Extra keys for vm1 / dom0 (YAML lines, indented by the caller as top-level keys). */
  vm1?: string;
  vm2?: string;
  dom0Extra?: string;
  /** Extra keys for the gpu / nic Device documents. */
  gpu?: string;
  nic?: string;
}

/**
 * A small host (64 MiB, Xen 0x0-0xff) used by the op tests. Frames (hex):
 *   dom0 (pv, hardware)  mfn 0x100-0x10ff (pfn 0-0xfff)
 *   vm1  (hvm)           mfn 0x1100-0x18ff (gfn 0-0x7ff: gfn g → mfn 0x1100+g)
 *   vm2  (hvm, owns nic) mfn 0x1900-0x20ff
 *   vm3  (hvm, maxmem 8MiB: may grow) mfn 0x2100-0x24ff
 *   free 0x2500-0x3fff
 * Devices: gpu 00:02.0 (dom0's), nic 03:00.0 (vm2's), nic2 03:00.1 (assignable, dom0's).
 */
export function lab(o: LabOptions = {}): string {
  const docs = [
    `apiVersion: pviommu/v1
kind: Host
name: h
cpu_vendor: ${o.vendor ?? 'intel'}
ram: 64MiB
xen_mfns: "0x0-0xff"
iommu:
  enabled: ${o.iommu ?? true}
  dom0: ${o.dom0 ?? 'relaxed'}
  address_width: ${o.width ?? 48}
  quarantine: ${o.quarantine ?? 'basic'}
pv_iommu:
  abi: ${o.abi ?? 'xs'}
  elf_note: ${o.elfNote ?? true}`,
    `apiVersion: pviommu/v1
kind: Device
name: gpu
bdf: "00:02.0"
class: display
dma_bits: 39
${o.gpu ?? ''}`,
    `apiVersion: pviommu/v1
kind: Device
name: nic
bdf: "03:00.0"
assignable: true
${o.nic ?? ''}`,
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
memory: 16MiB
${o.dom0Extra ?? ''}`,
    `apiVersion: pviommu/v1
kind: Domain
name: vm1
domid: 1
type: hvm
memory: 8MiB
${o.vm1 ?? ''}`,
    `apiVersion: pviommu/v1
kind: Domain
name: vm2
domid: 2
type: hvm
memory: 8MiB
pci: [{ dev: nic }]
${o.vm2 ?? ''}`,
    `apiVersion: pviommu/v1
kind: Domain
name: vm3
domid: 3
type: hvm
memory: 4MiB
maxmem: 8MiB`,
    ...(o.extra ?? []),
  ];
  return docs.join('\n---\n') + '\n';
}

/** A lab plus one Scenario document with these calls (YAML list items, already indented by 2). */
export function labScenario(calls: string, o: LabOptions & { scenarioAbi?: Abi } = {}): string {
  return (
    lab(o) +
    `---
apiVersion: pviommu/v1
kind: Scenario
name: s
${o.scenarioAbi ? `abi: ${o.scenarioAbi}\n` : ''}calls:
${calls}`
  );
}
