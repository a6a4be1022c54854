#!/usr/bin/env python3
"""Independent input generator for pviommu (written from SPEC.md §2-§4 only).

usage: gen.py [--seed N] [--out /tmp/indep] [--only fleet|traces] [--scale F]

Produces OUT/fleet (config repo, ~400 hosts) and OUT/tr/*.jsonl (traces against the
two designated hosts, see OUT/README).
"""
import argparse
import json
import os
import random
import shutil

import yaml

GiB = 1 << 30
MiB = 1 << 20
PAGE = 4096
FRAMES_PER_GIB = GiB // PAGE  # 0x40000
MMIO_HOLE_DEFAULT = 256 * MiB
FOREIGN_OFFSET = 0x3E00000

SITES = ["ams1", "fra2", "lon3", "iad1", "sjc2", "sin1", "syd1", "gru1"]
GUEST_ROLES = ["web", "db", "cache", "ci", "build", "mq", "api", "lb", "etl", "vdi", "render", "ml"]


def hx(n):
    return "0x%x" % n


def rng_str(a, b):
    return "0x%x-0x%x" % (a, b)


# ---------------------------------------------------------------------------------------------
# model: hosts, devices, domains as plain dicts (the "truth" the YAML is rendered from)
# ---------------------------------------------------------------------------------------------

class Host:
    def __init__(self, name):
        self.name = name
        self.doc = {}
        self.devices = []   # list of dicts (device docs)
        self.domains = []   # list of dicts (domain docs)
        self.scenarios = []
        self.ram_ranges = []  # inclusive (start, end) of RAM frames
        self.xen = None
        self.style = "hand"
        self.comments = {}


def make_memory_map(r, ram_gib):
    """An E820-like map in frames. Returns (memory_map list, ram ranges, rmrr_reserved_candidates)."""
    low_top = r.choice([0x7B800, 0x8F000, 0xAC000, 0xB8000])  # end of low RAM (exclusive)
    stolen = r.choice([0x800, 0x1000, 0x2000])  # reserved after low RAM (e.g. iGPU stolen / ACPI)
    mm = [
        ("ram", 0x0, 0x9E),
        ("reserved", 0x9F, 0xFF),
        ("ram", 0x100, low_top - 1),
        ("reserved", low_top, low_top + stolen - 1),
    ]
    if low_top + stolen < 0xC0000:
        mm.append(("ram", low_top + stolen, 0xBFFFF) if r.random() < 0.5 else ("reserved", low_top + stolen, 0xBFFFF))
    mm.append(("mmio", 0xC0000, 0xFFFFF))
    low_ram = sum(e - s + 1 for t, s, e in mm if t == "ram")
    high = ram_gib * FRAMES_PER_GIB - low_ram
    mm.append(("ram", 0x100000, 0x100000 + high - 1))
    ram = [(s, e) for t, s, e in mm if t == "ram"]
    return mm, ram, (low_top, low_top + stolen - 1)


def pick_domids(r, n):
    ids = []
    cur = 0
    for _ in range(n):
        cur += 1 + (r.randrange(6) if r.random() < 0.3 else 0)
        ids.append(cur)
    return ids


def gen_host(r, idx, forced=None):
    site = SITES[idx % len(SITES)]
    name = "%s-r%02d-h%02d" % (site, (idx // len(SITES)) // 10 + 1, (idx // len(SITES)) % 10 + 1)
    if forced == "xs":
        name = "%s-gvt-01" % site
    elif forced == "ta":
        name = "%s-ctx-01" % site
    h = Host(name)
    h.style = "hand" if (idx % 3 != 2) else "pyyaml"
    vendor = "amd" if (r.random() < 0.2 and not forced) else "intel"
    if vendor == "intel":
        abi = r.choices(["none", "xs", "ta"], [55, 30, 15])[0]
    else:
        abi = r.choices(["none", "ta"], [80, 20])[0]
    if forced:
        abi = forced
    ram_gib = r.choice([192, 256, 256, 384, 512, 768])
    if forced:
        ram_gib = 256
    # dom0 mode: strict mostly; relaxed on "infra" hosts whose guests are all trusted
    dom0_mode = r.choices(["strict", "relaxed"], [88, 12])[0]
    if forced:
        dom0_mode = "strict"
    addr_w = 48
    if vendor == "intel" and abi == "none" and ram_gib <= 256 and r.random() < 0.3:
        addr_w = 39
    quarantine = r.choices(["basic", "scratch-page"], [75, 25])[0]
    use_mm = r.random() < 0.45 or forced
    doc = {"apiVersion": "pviommu/v1", "kind": "Host", "name": name}
    if vendor == "amd" or r.random() < 0.5:
        doc["cpu_vendor"] = vendor
    stolen = None
    if use_mm:
        mm, ram, stolen = make_memory_map(r, ram_gib)
        doc["memory_map"] = [{"mfns": rng_str(s, e), "type": t} for t, s, e in mm]
        h.ram_ranges = ram
    else:
        doc["ram"] = "%dGiB" % ram_gib if ram_gib % 1024 else "%dTiB" % (ram_gib // 1024)
        h.ram_ranges = [(0, ram_gib * FRAMES_PER_GIB - 1)]
    xs = 0x100
    xe = xs + r.choice([0x7FF, 0xFFF, 0x1FFF]) 
    h.xen = [(xs, xe)]
    doc["xen_mfns"] = rng_str(xs, xe)
    iommu = {}
    if r.random() < 0.6:
        iommu["enabled"] = True
    if addr_w != 48 or r.random() < 0.4:
        iommu["address_width"] = addr_w
    iommu["dom0"] = dom0_mode
    if quarantine != "basic" or r.random() < 0.3:
        iommu["quarantine"] = quarantine
    if r.random() < 0.15:
        iommu["intremap"] = True
    if vendor == "intel" and r.random() < 0.1:
        iommu["sharept"] = False
    doc["iommu"] = iommu
    if abi != "none" or r.random() < 0.2:
        pv = {"abi": abi}
        if abi == "xs" and r.random() < 0.5:
            pv["foreign_offset"] = FOREIGN_OFFSET
        if abi == "xs" and r.random() < 0.3:
            pv["elf_note"] = True
        doc["pv_iommu"] = pv
    h.doc = doc
    h.vendor, h.abi, h.ram_gib, h.dom0_mode, h.addr_w, h.stolen = vendor, abi, ram_gib, dom0_mode, addr_w, stolen
    h.sharept = iommu.get("sharept", True)
    h.forced = forced
    gen_devices(r, h)
    gen_domains(r, h)
    gen_scenarios(r, h)
    return h


def dev(h, name, bdf, **kw):
    d = {"apiVersion": "pviommu/v1", "kind": "Device", "name": name, "host": h.name, "bdf": bdf}
    d.update(kw)
    h.devices.append(d)
    return d


def gen_devices(r, h):
    intel = h.vendor == "intel"
    dev(h, "hostbridge", "0000:00:00.0", **{"class": "bridge", "host_bridge": True})
    # RMRR for the iGPU / USB: inside the reserved "stolen" range when there is a memory map,
    # otherwise carved out of RAM below 4 GiB (reserved by virtue of being an RMRR)
    if h.stolen:
        s, e = h.stolen
        usb_rmrr = [rng_str(s, s + 0x1F)]
        igd_rmrr = [rng_str(s + 0x100, e)]
    else:
        base = 0xAD000 if r.random() < 0.5 else 0x7B800
        usb_rmrr = [rng_str(base, base + 0x1F)]
        igd_rmrr = [rng_str(base + 0x800, base + 0x17FF)]
    h.usb_rmrr, h.igd_rmrr = usb_rmrr, igd_rmrr
    h.has_igd = intel and (r.random() < 0.6 or h.forced == "xs" or h.abi == "xs")
    if h.has_igd:
        kw = {"class": "display", "rmrr": igd_rmrr}
        if h.abi != "xs":
            kw["dma_bits"] = 39
        dev(h, "igd", "0000:00:02.0", **kw)
    usb = dev(h, "xhci", "0000:00:14.0", **{"class": "usb", "rmrr": usb_rmrr})
    h.usb_dev = usb
    dev(h, "sata", "0000:00:17.0", **{"class": "storage", "dma_bits": 64} if r.random() < 0.3 else {"class": "storage"})
    dev(h, "lpc", "0000:00:1f.0", **{"class": "bridge"})
    dev(h, "smbus", "0000:00:1f.4", **{"class": "other"})
    # legacy PCIe-to-PCI bridge with a couple of conventional devices behind it (dom0's)
    if r.random() < 0.35:
        dev(h, "pcibridge", "0000:00:1e.0", **{"class": "bridge"})
        dev(h, "bmc-vga", "0000:04:00.0", **{"class": "display", "bridge": "0000:00:1e.0", "dma_bits": 32})
        if r.random() < 0.5:
            dev(h, "legacy-uart", "0000:04:01.0", **{"class": "other", "bridge": "0000:00:1e.0", "dma_bits": 32})
    # phantom-function RAID controller
    if r.random() < 0.3:
        dev(h, "raid0", "0000:18:00.0", **{"class": "storage", "phantom_stride": r.choice([1, 2, 4])})
    # NICs with SR-IOV VFs
    h.vfs = []
    h.pfs = []
    nbus = [0x3B, 0x5E, 0x86, 0xD8]
    n_pf = r.choice([1, 2, 2, 2]) if not h.forced else 2
    for p in range(n_pf):
        bus = nbus[p]
        for port in range(2):
            pfname = "nic%d-p%d" % (p, port)
            pfbdf = "0000:%02x:00.%d" % (bus, port)
            kw = {"class": "network"}
            if r.random() < 0.3:
                kw["assignable"] = False
            dev(h, pfname, pfbdf, **kw)
            h.pfs.append(pfname)
            nvf = r.choice([2, 4, 4, 6, 8])
            for v in range(nvf):
                slot = 0x02 + port * 4 + v // 8
                vname = "%s-vf%d" % (pfname, v)
                vbdf = "0000:%02x:%02x.%d" % (bus, slot, v % 8)
                vkw = {"class": "network", "pf": pfbdf, "assignable": True}
                if r.random() < 0.2:
                    vkw["dma_bits"] = 48
                dev(h, vname, vbdf, **vkw)
                h.vfs.append(vname)
    # NVMe
    h.nvmes = []
    for i in range(r.choice([1, 2, 3, 4]) if not h.forced else 3):
        nm = "nvme%d" % i
        dev(h, nm, "0000:%02x:00.0" % (0x1A + i), **{"class": "storage", "assignable": i > 0})
        if i > 0:
            h.nvmes.append(nm)
    # discrete GPUs (with their HDMI audio function)
    h.gpus = []
    ngpu = r.choices([0, 1, 2, 4], [55, 20, 15, 10])[0]
    if h.forced:
        ngpu = 1
    for i in range(ngpu):
        bus = 0xAF + i * 2
        g = "gpu%d" % i
        kw = {"class": "display", "assignable": True}
        if r.random() < 0.5:
            kw["dma_bits"] = r.choice([40, 44, 47, 64])
        dev(h, g, "0000:%02x:00.0" % bus, **kw)
        dev(h, g + "-audio", "%02x:00.1" % bus, **{"class": "other", "assignable": True})
        h.gpus.append(g)
    if r.random() < 0.05:
        dev(h, "flaky-nic", "0000:e0:00.0", **{"class": "network", "broken": True})


def gen_domains(r, h):
    r2 = r
    guests_n = r.randint(20, 28)
    if h.forced:
        guests_n = 10
    ids = pick_domids(r, guests_n)
    dom0_mem = r.choice([4, 4, 8, 8, 16])
    if h.forced:
        dom0_mem = 8
    d0 = {"apiVersion": "pviommu/v1", "kind": "Domain", "name": "dom0", "host": h.name, "domid": 0,
          "type": "pv", "role": "hardware", "memory": "%dGiB" % dom0_mem}
    if r.random() < 0.5:
        d0["maxmem"] = d0["memory"]
    h.domains.append(d0)
    all_trusted = h.dom0_mode == "relaxed"
    budget = int(h.ram_gib * 0.8) - dom0_mem - 1
    free_vfs = list(h.vfs)
    r.shuffle(free_vfs)
    free_nvme = list(h.nvmes)
    free_gpus = list(h.gpus)
    names = set(["dom0"])
    hvm_names = []
    mediated_candidates = []
    usb_given = False
    forced_plan = None
    if h.forced == "xs":
        # the xs trace host: fixed shapes (see README)
        forced_plan = [
            ("hvm", "gvt-a", 4, 4, ["vf"], {}),
            ("hvm", "gvt-b", 4, 4, [], {}),
            ("hvm", "churn-a", 16, 16, ["vf"], {}),
            ("hvm", "churn-b", 2, 12, [], {}),
            ("hvm", "web-01", 2, 2, ["vf", "vf"], {}),
            ("hvm", "render-01", 8, 8, ["gpu"], {}),
            ("pv", "pv-db-01", 8, 8, ["vf"], {}),
            ("pv", "pv-ci-01", 4, 4, [], {}),
            ("pvh", "pvh-api-01", 2, 2, [], {}),
            ("hvm", "scratch-01", 1, 1, [], {}),
        ]
    elif h.forced == "ta":
        forced_plan = [
            ("hvm", "ctx-a", 4, 4, ["vf", "vf"], {"pv_iommu": True}),
            ("hvm", "ctx-b", 4, 4, ["nvme"], {"pv_iommu": True}),
            ("hvm", "web-01", 2, 4, [], {}),
            ("pv", "pv-db-01", 8, 8, ["vf"], {}),
            ("pv", "pv-ci-01", 4, 4, [], {}),
            ("pvh", "pvh-api-01", 2, 2, [], {}),
            ("hvm", "gpu-01", 8, 8, ["gpu"], {}),
            ("hvm", "build-01", 2, 2, [], {}),
            ("hvm", "build-02", 2, 2, [], {}),
            ("hvm", "mq-01", 1, 1, [], {}),
        ]
    # optional driver domain owning a NIC PF (trusted)
    if not h.forced and r.random() < 0.15 and h.pfs:
        pass  # PFs stay with dom0; VFs are what guests get (most fleets)
    for k, domid in enumerate(ids):
        if forced_plan:
            typ, nm, mem, maxm, wants, extra = forced_plan[k]
        else:
            typ = r.choices(["hvm", "pv", "pvh"], [62, 24, 14])[0]
            role = r.choice(GUEST_ROLES)
            nm = "%s-%02d" % (role, k + 1)
            mem = r.choice([1, 2, 2, 4, 4, 4, 8, 8, 16])
            maxm = mem
            wants = []
            extra = {}
            if typ == "hvm":
                x = r.random()
                if x < 0.35 and free_vfs:
                    wants = ["vf"] * r.choice([1, 1, 2])
                elif x < 0.45 and free_gpus:
                    wants = ["gpu"]
                elif x < 0.5 and free_nvme:
                    wants = ["nvme"]
                elif x < 0.53 and not usb_given and not h.has_igd:
                    wants = ["usb"]
                    mem = maxm = 1
                elif x < 0.7:
                    maxm = mem * 2  # populate-on-demand / balloon headroom
            elif typ == "pv":
                if r.random() < 0.3 and free_vfs:
                    wants = ["vf"]
            if mem > budget or maxm > budget:
                mem = maxm = 1
            if maxm > budget:
                continue
            if h.abi == "ta" and wants and r.random() < 0.4:
                extra["pv_iommu"] = True
        budget -= maxm
        d = {"apiVersion": "pviommu/v1", "kind": "Domain", "name": nm, "host": h.name, "domid": domid, "type": typ}
        if r.random() < 0.3:
            d["role"] = "guest"
        if all_trusted:
            d["trusted"] = True
        d["memory"] = "%dGiB" % mem if (mem >= 4 or r.random() < 0.5) else "%dMiB" % (mem * 1024)
        if maxm != mem:
            d["maxmem"] = "%dGiB" % maxm
        pci = []
        for w in wants:
            if w == "vf" and free_vfs:
                pci.append({"dev": free_vfs.pop()})
            elif w == "gpu" and free_gpus:
                g = free_gpus.pop(0)
                pci.append({"dev": g})
                pci.append({"dev": g + "-audio"})
            elif w == "nvme" and free_nvme:
                pci.append({"dev": free_nvme.pop(0)})
            elif w == "usb":
                usb_given = True
                h.usb_dev["assignable"] = True
                pci.append({"dev": "xhci", "rdm_policy": "relaxed"})
        for p in pci:
            if r.random() < 0.25:
                p["rdm_policy"] = p.get("rdm_policy", "strict")
            if r.random() < 0.15:
                p["vslot"] = 4 + pci.index(p)
        if pci:
            d["pci"] = pci
            if r.random() < 0.3:
                d["passthrough"] = "enabled"
            elif typ == "hvm" and r.random() < 0.2:
                d["passthrough"] = "sync_pt"
            elif typ == "hvm" and h.vendor == "intel" and h.sharept and r.random() < 0.15:
                d["passthrough"] = "share_pt"
        else:
            if r.random() < 0.2:
                d["passthrough"] = "disabled"
            if typ in ("hvm", "pvh") and maxm == mem and r.random() < 0.15:
                d["live_migration"] = True
        if typ == "hvm":
            if r.random() < 0.2:
                d["hap"] = True
            if r.random() < 0.1 and not pci:
                d["mmio_hole"] = r.choice(["512MiB", "1GiB"])
            hvm_names.append(nm)
            if not pci and maxm == mem:
                mediated_candidates.append(nm)
        if extra:
            d.update(extra)
        h.domains.append(d)
        names.add(nm)
    h.hvm_names = hvm_names
    h.mediated_candidates = mediated_candidates
    # mediated iGPU (GVT-g style) on xs hosts: vgpus are HVM guests without devices
    if h.has_igd and h.abi == "xs" and len(mediated_candidates) >= 1:
        igd = [d for d in h.devices if d["name"] == "igd"][0]
        vg = mediated_candidates[:2] if not h.forced else ["gvt-a", "gvt-b"]
        igd["mediated"] = {"vgpus": vg, "translation": "pv-iommu"}


def gen_scenarios(r, h):
    # GVT-g shadow GTT scenario on xs hosts with a mediated igd
    igd = [d for d in h.devices if d["name"] == "igd" and "mediated" in d]
    if igd:
        vm = igd[0]["mediated"]["vgpus"][0]
        g = r.choice([0x100, 0x1000, 0x2345, 0x3f000])
        h.scenarios.append({
            "apiVersion": "pviommu/v1", "kind": "Scenario", "name": "gvt-shadow-gtt", "host": h.name,
            "calls": [
                {"op": "iommu.query_caps", "expect": {"status": 0}},
                {"op": "iommu.lookup_foreign_page", "caller": "dom0", "domid": vm, "gfn": g, "expect": {"status": 0}},
                {"op": "device.dma", "device": "igd", "bfn_of": 1, "access": "write", "target": {"domain": vm, "gfn": g}},
                {"op": "iommu.unmap_foreign_page", "bfn_of": 1, "expect": {"status": 0}},
            ]})
    # balloon scenario on a PoD guest
    pod = [d for d in h.domains if d["type"] == "hvm" and d.get("maxmem", d["memory"]) != d["memory"]]
    if pod and r.random() < 0.4:
        d = pod[0]
        base = 0x100000 + 0x80000 * 0 + 0x200000
        h.scenarios.append({
            "apiVersion": "pviommu/v1", "kind": "Scenario", "name": "balloon-%s" % d["name"], "host": h.name,
            "calls": [
                {"op": "memory.populate_physmap", "caller": d["name"], "gfns": rng_str(base, base + 15), "expect": {"done": 16}},
                {"op": "memory.decrease_reservation", "caller": d["name"], "gfns": [hx(base), hx(base + 1)], "expect": {"done": 2}},
                {"op": "memory.decrease_reservation", "caller": d["name"], "gfns": [hx(base)], "expect": {"done": 0}},
            ]})


# ---------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------

def y_scalar(v, key=None):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if key in ("gfn", "bfn", "mfn", "foreign_offset", "vslot", "idx", "gpfn"):
            return hx(v)
        return str(v)
    if isinstance(v, str):
        # always quote hex strings, BDFs and ranges in hand-written style
        if v.startswith("0x") or ":" in v or v in ("on", "off", "yes", "no", "y", "n"):
            return '"%s"' % v
        return v
    raise TypeError(v)


def y_flow(v, key=None):
    if isinstance(v, dict):
        return "{ " + ", ".join("%s: %s" % (k, y_flow(x, k)) for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(y_flow(x, key) for x in v) + "]"
    return y_scalar(v, key)


def y_block(d, indent=0, flow_lists=("memory_map", "rmrr", "vgpus", "gfns")):
    out = []
    pad = " " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            if k in ("expect", "target", "mediated") and k != "mediated":
                out.append("%s%s: %s" % (pad, k, y_flow(v)))
            else:
                out.append("%s%s:" % (pad, k))
                out.extend(y_block(v, indent + 2))
        elif isinstance(v, list):
            if k in ("rmrr", "vgpus", "gfns", "flags"):
                out.append("%s%s: %s" % (pad, k, y_flow(v, k)))
            elif k == "memory_map":
                out.append("%s%s:" % (pad, k))
                for it in v:
                    out.append("%s  - %s" % (pad, y_flow(it)))
            else:
                out.append("%s%s:" % (pad, k))
                for it in v:
                    if isinstance(it, dict):
                        sub = y_block(it, indent + 4)
                        sub[0] = pad + "  - " + sub[0].lstrip()
                        out.extend(sub)
                    else:
                        out.append("%s  - %s" % (pad, y_scalar(it, k)))
        else:
            out.append("%s%s: %s" % (pad, k, y_scalar(v, k)))
    return out


def render(docs, style, header=None):
    if style == "pyyaml":
        return yaml.safe_dump_all(docs, explicit_start=True, default_flow_style=False, sort_keys=True)
    parts = []
    for i, d in enumerate(docs):
        lines = []
        if i == 0 and header:
            lines.extend("# " + l for l in header)
        lines.extend(y_block(d))
        parts.append("\n".join(lines) + "\n")
    return "---\n".join(parts)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_fleet(hosts, out):
    root = os.path.join(out, "fleet")
    if os.path.exists(root):
        # Only a fleet this script wrote (its README says so) is replaced.
        marker = os.path.join(root, "README.md")
        if not (os.path.isfile(marker) and open(marker).read().startswith("Generated fleet (gen.py)")):
            raise SystemExit("gen.py: %s exists and was not written by gen.py; choose another --out" % root)
        shutil.rmtree(root)
    os.makedirs(root)
    write(os.path.join(root, "README.md"), "Generated fleet (gen.py). Not a pviommu document.\n")
    write(os.path.join(root, "ci", "pipeline.yaml"), "stages: [lint, test]\nlint:\n  script: pviommu check .\n")
    write(os.path.join(root, ".gitlab-ci.yml"), "lint:\n  script: [pviommu check .]\n")
    for i, h in enumerate(hosts):
        site = h.name.split("-")[0]
        hd = os.path.join(root, site, h.name)
        st = h.style
        write(os.path.join(hd, "host.yaml"), render([h.doc], st, header=[
            "%s: %s host, %d GiB, dom0 %s" % (h.name, h.vendor, h.ram_gib, h.dom0_mode)]))
        if i % 2 == 0:
            write(os.path.join(hd, "devices.yaml"), render(h.devices, st))
        else:
            # split: platform devices vs add-in cards
            plat = [d for d in h.devices if d["bdf"].startswith("0000:00:") or d["bdf"].startswith("0000:04:")]
            rest = [d for d in h.devices if d not in plat]
            write(os.path.join(hd, "devices", "platform.yaml"), render(plat, st))
            write(os.path.join(hd, "devices", "pcie.yaml"), render(rest, st))
        if i % 4 == 1:
            write(os.path.join(hd, "domains.yaml"), render(h.domains, st))
        else:
            for d in h.domains:
                write(os.path.join(hd, "domains", d["name"] + ".yaml"), render([d], st))
        for s in h.scenarios:
            write(os.path.join(hd, "scenarios", s["name"] + ".yml"), render([s], st))


# ---------------------------------------------------------------------------------------------
# allocation model (SPEC §3.1) — to know which frames the domains got
# ---------------------------------------------------------------------------------------------

def parse_range(s):
    a, b = s.split("-")
    return int(a, 16), int(b, 16)


def parse_size(s):
    if s.endswith("GiB"):
        return int(s[:-3]) * GiB
    if s.endswith("MiB"):
        return int(s[:-3]) * MiB
    if s.endswith("TiB"):
        return int(s[:-3]) << 40
    raise ValueError(s)


def subtract(extents, holes):
    out = []
    for s, e in extents:
        cur = [(s, e)]
        for hs, he in holes:
            nxt = []
            for a, b in cur:
                if he < a or hs > b:
                    nxt.append((a, b))
                    continue
                if a < hs:
                    nxt.append((a, hs - 1))
                if he < b:
                    nxt.append((he + 1, b))
            cur = nxt
        out.extend(cur)
    return sorted(out)


class Alloc:
    """lowest-free-first frame allocator over extents."""

    def __init__(self, h):
        holes = list(h.xen)
        for d in h.devices:
            for rr in d.get("rmrr", []):
                holes.append(parse_range(rr))
        self.free = subtract(sorted(h.ram_ranges), sorted(holes))

    def take(self, n):
        got = []
        while n > 0:
            s, e = self.free[0]
            k = min(n, e - s + 1)
            got.append((s, s + k - 1))
            n -= k
            if s + k > e:
                self.free.pop(0)
            else:
                self.free[0] = (s + k, e)
        return got


def layout(h):
    """domain name -> dict(type, frames extents (mfns), gfn extents (for hvm), pages)"""
    al = Alloc(h)
    res = {}
    for d in sorted(h.domains, key=lambda d: d["domid"]):
        pages = parse_size(d["memory"]) // PAGE
        mfns = al.take(pages)
        info = {"type": d["type"], "domid": d["domid"], "pages": pages, "mfns": mfns,
                "maxpages": parse_size(d.get("maxmem", d["memory"])) // PAGE}
        if d["type"] in ("hvm", "pvh"):
            hole = parse_size(d.get("mmio_hole", "256MiB")) // PAGE
            low_lim = (4 * GiB) // PAGE - hole
            lo = min(pages, low_lim)
            g = [(0, lo - 1)]
            if pages > lo:
                g.append((0x100000, 0x100000 + pages - lo - 1))
            info["gfns"] = g
        else:
            info["gfns"] = mfns  # PV: gfn in hypercalls is the MFN
        res[d["name"]] = info
    return res


# ---------------------------------------------------------------------------------------------
# traces
# ---------------------------------------------------------------------------------------------

class FrameSet:
    """backed gfns of a domain: initial extents (implicit) + explicit add/remove sets."""

    def __init__(self, extents):
        self.ext = extents
        self.removed = set()
        self.added = set()
        self.tot = sum(e - s + 1 for s, e in extents)
        self.ver = 0

    def in_ext(self, g):
        for s, e in self.ext:
            if s <= g <= e:
                return True
        return False

    def backed(self, g):
        if g in self.added:
            return True
        return self.in_ext(g) and g not in self.removed

    def rand_backed(self, r):
        # mostly from the initial extents, sometimes from added
        if self.added and r.random() < 0.3:
            return r.choice(tuple(self.added)) if len(self.added) < 64 else self._sample_added(r)
        for _ in range(50):
            s, e = r.choice(self.ext)
            g = r.randint(s, e)
            if g not in self.removed:
                return g
        return None

    def _sample_added(self, r):
        if getattr(self, "_al_v", -1) != self.ver:
            self._al = list(self.added)
            self._al_v = self.ver
        return r.choice(self._al)

    def remove(self, g):
        self.ver += 1
        if g in self.added:
            self.added.discard(g)
        else:
            self.removed.add(g)
        self.tot -= 1

    def add(self, g):
        self.ver += 1
        if self.in_ext(g):
            self.removed.discard(g)
        else:
            self.added.add(g)
        self.tot += 1


class Writer:
    def __init__(self, path, style):
        self.f = open(path, "w")
        self.style = style  # dict: spaces(bool), hexframes(bool), callers("name"/"id"/"mix")
        self.n = 0

    def fr(self, v):
        return hx(v) if self.style["hex"] else v

    def emit(self, obj):
        if self.style["spaces"]:
            s = json.dumps(obj)
        else:
            s = json.dumps(obj, separators=(",", ":"))
        self.f.write(s + "\n")
        self.n += 1
        return self.n - 1

    def close(self):
        self.f.close()


def who(w, r, name, lay):
    m = w.style["callers"]
    if m == "name" or (m == "mix" and r.random() < 0.5):
        return name
    return lay[name]["domid"]


def gfn_list(w, gl):
    if len(gl) > 1 and gl == list(range(gl[0], gl[0] + len(gl))) and w.style.get("ranges"):
        return rng_str(gl[0], gl[-1])
    return [w.fr(g) for g in gl]


def trace_mix(r, h, lay, path, n, style):
    w = Writer(path, style)
    d0 = lay["dom0"]
    dom0_mfns = FrameSet(d0["mfns"])
    guests_hvm = ["gvt-a", "gvt-b", "web-01", "render-01"]
    fs = {k: FrameSet(lay[k]["gfns"]) for k in lay}
    pod = "churn-b"
    free_bfn = 0x2000000  # 128 GiB: above dom0's identity/PFN ranges, below the foreign window
    mapped_bfns = []      # map_page entries (bfn)
    foreign_map = []      # map_foreign_page entries (bfn)
    pins = {}             # (dom, gfn) -> call index of lookup
    pinned_list = []
    grants = {}           # mapper -> list of live handles
    next_handle = {}
    pv_gnt_next = 0x900000
    hostgfn_next = {k: 0x800000 for k in lay}
    assigned_spare = None
    spare_vf = h.spare_vf
    ops = ["map", "unmap", "lookup", "unpin", "mapf", "unmapf", "caps", "batch", "pop", "dec", "xlate",
           "gmap", "gunmap", "dma_gpu", "dma_vf", "assign", "test_assign", "a2p", "rfp", "oops"]
    wts = [10, 8, 12, 8, 5, 4, 2, 3, 8, 8, 6, 8, 7, 9, 4, 1, 1, 1, 1, 2]
    destroyed = False
    pod_extra = 0x200000
    i = 0
    while w.n < n:
        if not destroyed and w.n > n * 0.97:
            w.emit({"op": "domain.destroy", "domid": who(w, r, "scratch-01", lay)})
            destroyed = True
            continue
        op = r.choices(ops, wts)[0]
        if op == "map":
            g = dom0_mfns.rand_backed(r)
            b = free_bfn
            free_bfn += 1
            mapped_bfns.append(b)
            c = {"op": "iommu.map_page", "bfn": w.fr(b), "gfn": w.fr(g), "flags": ["read", "write"] if r.random() < 0.8 else ["read"]}
            if r.random() < 0.5:
                c["caller"] = who(w, r, "dom0", lay)
            w.emit(c)
        elif op == "unmap" and mapped_bfns:
            b = mapped_bfns.pop(r.randrange(len(mapped_bfns)))
            w.emit({"op": "iommu.unmap_page", "bfn": w.fr(b)})
        elif op == "lookup":
            vm = r.choice(guests_hvm + [pod])
            g = fs[vm].rand_backed(r)
            key = (vm, g)
            idx = w.emit({"op": "iommu.lookup_foreign_page", "domid": who(w, r, vm, lay), "gfn": w.fr(g)})
            if key not in pins:
                pins[key] = idx
                pinned_list.append(key)
        elif op == "unpin" and pinned_list:
            key = pinned_list.pop(r.randrange(len(pinned_list)))
            idx = pins.pop(key)
            w.emit({"op": "iommu.unmap_foreign_page", "bfn_of": idx})
        elif op == "mapf":
            vm = r.choice(guests_hvm)
            g = fs[vm].rand_backed(r)
            b = free_bfn
            free_bfn += 1
            foreign_map.append(b)
            w.emit({"op": "iommu.map_foreign_page", "bfn": w.fr(b), "domid": who(w, r, vm, lay), "gfn": w.fr(g),
                    "flags": ["read", "write"]})
        elif op == "unmapf" and foreign_map:
            b = foreign_map.pop(r.randrange(len(foreign_map)))
            w.emit({"op": "iommu.unmap_foreign_page", "bfn": w.fr(b)})
        elif op == "caps":
            w.emit({"op": "iommu.query_caps"})
        elif op == "batch":
            subs = []
            for _ in range(r.randint(2, 8)):
                g = dom0_mfns.rand_backed(r)
                b = free_bfn
                free_bfn += 1
                subs.append({"subop": "map_page", "bfn": w.fr(b), "gfn": w.fr(g), "flags": ["read", "write"]})
                mapped_bfns.append(b)
            if mapped_bfns and r.random() < 0.5:
                b = mapped_bfns.pop(0)
                subs.append({"subop": "unmap_page", "bfn": w.fr(b)})
            w.emit({"op": "iommu.op", "ops": subs})
        elif op == "pop":
            k = r.randint(1, 16)
            gl = list(range(pod_extra, pod_extra + k))
            pod_extra += k
            if fs[pod].tot + k > lay[pod]["maxpages"]:
                continue
            for g in gl:
                fs[pod].add(g)
            w.emit({"op": "memory.populate_physmap", "caller": who(w, r, pod, lay), "gfns": gfn_list(w, gl)})
        elif op == "dec":
            gl = set()
            for _ in range(r.randint(1, 8)):
                g = fs[pod].rand_backed(r)
                if g is not None:
                    gl.add(g)
            gl = sorted(gl)
            for g in gl:
                fs[pod].remove(g)
            w.emit({"op": "memory.decrease_reservation", "caller": who(w, r, pod, lay), "gfns": gfn_list(w, gl)})
        elif op == "xlate":
            vm = r.choice(guests_hvm + [pod])
            gl = sorted(set(fs[vm].rand_backed(r) for _ in range(r.randint(1, 32))))
            w.emit({"op": "memory.translate", "domid": who(w, r, vm, lay), "gfns": gfn_list(w, gl)})
        elif op == "gmap":
            mapper = r.choice(["dom0", "dom0", "web-01", "pv-ci-01"])
            granter = r.choice(["gvt-a", "gvt-b", "render-01", "pv-db-01"])
            g = fs[granter].rand_backed(r)
            c = {"op": "grant.map", "caller": who(w, r, mapper, lay), "granter": who(w, r, granter, lay), "gfn": w.fr(g)}
            if lay[mapper]["type"] == "pv":
                c["flags"] = ["host_map", "device_map"] if r.random() < 0.7 else ["host_map", "device_map", "readonly"]
            else:
                c["flags"] = ["host_map"] if r.random() < 0.8 else ["host_map", "readonly"]
                c["host_gfn"] = w.fr(hostgfn_next[mapper])
                hostgfn_next[mapper] += 1
            w.emit(c)
            hnd = next_handle.get(mapper, 0)
            next_handle[mapper] = hnd + 1
            grants.setdefault(mapper, []).append(hnd)
        elif op == "gunmap":
            ms = [m for m in grants if grants[m]]
            if not ms:
                continue
            m = r.choice(ms)
            hnd = grants[m].pop(r.randrange(len(grants[m])))
            w.emit({"op": "grant.unmap", "caller": who(w, r, m, lay), "handle": hnd})
        elif op == "dma_gpu" and pinned_list:
            key = r.choice(pinned_list)
            if key[0] not in ("gvt-a", "gvt-b"):
                continue
            vm, g = key
            c = {"op": "device.dma", "device": "igd", "bfn_of": pins[key], "access": r.choice(["read", "write"])}
            if fs[vm].backed(g):
                c["target"] = {"domain": vm, "gfn": w.fr(g)}
            w.emit(c)
        elif op == "dma_vf":
            vm, devn = r.choice(h.vf_owners)
            g = fs[vm].rand_backed(r)
            w.emit({"op": "device.dma", "device": devn, "bfn": w.fr(g), "access": "write",
                    "target": {"domain": who(w, r, vm, lay), "gfn": w.fr(g)}})
        elif op == "test_assign":
            w.emit({"op": "domctl.test_assign_device", "device": spare_vf})
        elif op == "assign":
            if assigned_spare is None:
                w.emit({"op": "domctl.assign_device", "domid": who(w, r, "web-01", lay), "device": spare_vf})
                assigned_spare = "web-01"
            else:
                w.emit({"op": "domctl.deassign_device", "domid": who(w, r, assigned_spare, lay), "device": spare_vf})
                assigned_spare = None
        elif op == "a2p":
            # move one of render-01's own pages to a fresh gfn
            vm = "web-01"
            src = fs[vm].rand_backed(r)
            dst = hostgfn_next[vm]
            hostgfn_next[vm] += 1
            fs[vm].remove(src)
            fs[vm].add(dst)
            w.emit({"op": "memory.add_to_physmap", "caller": vm, "domid": who(w, r, vm, lay), "space": "gmfn",
                    "idx": w.fr(src), "gpfn": w.fr(dst)})
        elif op == "oops":
            # the occasional wrong call a real dom0 makes: Xen answers with an errno
            k = r.randrange(4)
            if k == 0:
                w.emit({"op": "iommu.unmap_page", "bfn": w.fr(0x3000000 + r.randrange(0x100000))})
            elif k == 1:
                w.emit({"op": "iommu.lookup_foreign_page", "domid": who(w, r, "gvt-b", lay), "gfn": w.fr(0x7000000 + r.randrange(4096))})
            elif k == 2:
                w.emit({"op": "grant.map", "caller": "dom0", "granter": who(w, r, "render-01", lay),
                        "gfn": w.fr(0x6000000 + r.randrange(4096)), "flags": ["host_map", "device_map"]})
                # (a failed map is given no handle)
            else:
                w.emit({"op": "iommu.unmap_foreign_page", "bfn": w.fr(FOREIGN_OFFSET + r.randrange(0x100000))})
        elif op == "rfp":
            vm = pod
            g = fs[vm].rand_backed(r)
            fs[vm].remove(g)
            w.emit({"op": "memory.remove_from_physmap", "caller": vm, "domid": who(w, r, vm, lay), "gpfn": w.fr(g)})
        i += 1
    w.close()


def trace_translate(r, h, lay, path, n, style):
    w = Writer(path, style)
    vms = ["gvt-a", "gvt-b", "churn-a", "churn-b", "web-01", "render-01", "pv-db-01", "pv-ci-01", "pvh-api-01"]
    fs = {k: FrameSet(lay[k]["gfns"]) for k in vms}
    while w.n < n:
        vm = r.choice(vms)
        k = r.choice([1, 1, 1, 4, 16, 64, 128])
        if k > 1 and r.random() < 0.3:
            s, e = r.choice(lay[vm]["gfns"])
            a = r.randint(s, max(s, e - k + 1))
            gl = list(range(a, min(a + k, e + 1)))
            w.emit({"op": "memory.translate", "domid": who(w, r, vm, lay), "gfns": rng_str(gl[0], gl[-1]) if len(gl) > 1 else [w.fr(gl[0])]})
        else:
            gl = sorted(set(fs[vm].rand_backed(r) for _ in range(k)))
            w.emit({"op": "memory.translate", "domid": who(w, r, vm, lay), "gfns": [w.fr(g) for g in gl]})
    w.close()


def trace_hvm(r, h, lay, path, n, style):
    w = Writer(path, style)
    vms = ["gvt-a", "gvt-b", "churn-b", "web-01", "render-01", "scratch-01"]
    fs = {k: FrameSet(lay[k]["gfns"]) for k in vms}
    nxt = {k: 0x180000 + 0x40000 * i for i, k in enumerate(vms)}
    hostg = {k: 0xA00000 for k in vms}
    grants = {k: [] for k in vms}
    holes_l = {k: [] for k in vms}
    hn = {k: 0 for k in vms}
    while w.n < n:
        x = r.random()
        vm = r.choice(vms)
        if x < 0.35:
            # decrease random backed gfns
            gl = sorted(set(g for g in (fs[vm].rand_backed(r) for _ in range(r.randint(1, 8))) if g is not None))
            for g in gl:
                fs[vm].remove(g)
                if g not in fs[vm].added and len(holes_l[vm]) < 100000:
                    holes_l[vm].append(g)
            w.emit({"op": "memory.decrease_reservation", "caller": who(w, r, vm, lay), "gfns": [w.fr(g) for g in gl]})
        elif x < 0.7:
            room = lay[vm]["maxpages"] - fs[vm].tot
            if room <= 0:
                continue
            k = min(room, r.randint(1, 8))
            holes = [g for g in (r.choice(holes_l[vm]) for _ in range(k)) if g in fs[vm].removed] if holes_l[vm] and r.random() < 0.5 else []
            if holes:
                # repopulate holes left by earlier decreases (random gfns)
                gl = sorted(set(holes))
            else:
                gl = [nxt[vm] + r.randrange(0, 4) * 0 + j for j in range(k)]
                nxt[vm] += k + r.randrange(0, 64)
            for g in gl:
                fs[vm].add(g)
            c = {"op": "memory.populate_physmap", "gfns": [w.fr(g) for g in gl]}
            if r.random() < 0.7:
                c["caller"] = who(w, r, vm, lay)
            else:
                c["caller"] = who(w, r, vm, lay)
                c["domid"] = who(w, r, vm, lay)
            w.emit(c)
        elif x < 0.87:
            granter = r.choice([v for v in vms if v != vm])
            g = fs[granter].rand_backed(r)
            c = {"op": "grant.map", "caller": who(w, r, vm, lay), "granter": who(w, r, granter, lay), "gfn": w.fr(g),
                 "flags": ["host_map"] if r.random() < 0.7 else ["host_map", "readonly"], "host_gfn": w.fr(hostg[vm])}
            hostg[vm] += 1
            w.emit(c)
            grants[vm].append(hn[vm])
            hn[vm] += 1
        else:
            if not grants[vm]:
                continue
            hnd = grants[vm].pop(r.randrange(len(grants[vm])))
            w.emit({"op": "grant.unmap", "caller": who(w, r, vm, lay), "handle": hnd})
    w.close()


def trace_grant(r, h, lay, path, n, style):
    w = Writer(path, style)
    mappers = ["dom0", "dom0", "dom0", "pv-ci-01", "pv-db-01", "web-01", "churn-b"]
    granters = ["gvt-a", "gvt-b", "render-01", "pv-db-01", "pv-ci-01", "pvh-api-01", "web-01"]
    fs = {k: FrameSet(lay[k]["gfns"]) for k in lay}
    grants = {}
    hn = {}
    hostg = {}
    while w.n < n:
        m = r.choice(mappers)
        live = grants.setdefault(m, [])
        if live and (r.random() < 0.48 or len(live) > 4000):
            hnd = live.pop(r.randrange(len(live)) if r.random() < 0.5 else 0)
            w.emit({"op": "grant.unmap", "caller": who(w, r, m, lay), "handle": hnd})
            continue
        gr = r.choice([g for g in granters if g != m])
        # popular pages: a small working set of shared ring / buffer pages per granter
        g = fs[gr].rand_backed(r) if r.random() < 0.7 else lay[gr]["gfns"][0][0] + r.randrange(256)
        c = {"op": "grant.map", "caller": who(w, r, m, lay), "granter": who(w, r, gr, lay), "gfn": w.fr(g)}
        if lay[m]["type"] == "pv":
            c["flags"] = r.choice([["host_map", "device_map"], ["host_map", "device_map"], ["device_map"], ["host_map"],
                                   ["host_map", "device_map", "readonly"]])
        else:
            c["flags"] = ["host_map"] if r.random() < 0.75 else ["host_map", "readonly"]
            hg = hostg.get(m, 0xC00000)
            hostg[m] = hg + 1
            c["host_gfn"] = w.fr(hg)
        w.emit(c)
        live.append(hn.get(m, 0))
        hn[m] = hn.get(m, 0) + 1
    w.close()


def trace_churn(r, h, lay, path, n, style):
    w = Writer(path, style)
    A, B = "churn-a", "churn-b"
    fa = FrameSet(lay[A]["gfns"])
    fb = FrameSet(lay[B]["gfns"])
    nb = 0x140000
    owed = 0
    while w.n < n:
        if owed <= 0 or r.random() < 0.5:
            k = r.choice([1, 1, 2, 4, 8])
            gl = sorted(set(g for g in (fa.rand_backed(r) for _ in range(k)) if g is not None))
            for g in gl:
                fa.remove(g)
            owed += len(gl)
            w.emit({"op": "memory.decrease_reservation", "caller": who(w, r, A, lay), "gfns": [w.fr(g) for g in gl]})
        else:
            k = min(owed, r.choice([1, 2, 4, 8, 16]))
            if fb.tot + k > lay[B]["maxpages"]:
                # B full: B gives some back instead
                gl = sorted(set(g for g in (fb.rand_backed(r) for _ in range(k)) if g is not None))
                for g in gl:
                    fb.remove(g)
                w.emit({"op": "memory.decrease_reservation", "caller": who(w, r, B, lay), "gfns": [w.fr(g) for g in gl]})
                continue
            if r.random() < 0.6:
                gl = list(range(nb, nb + k))
                nb += k + r.randrange(0, 3)
                gf = rng_str(gl[0], gl[-1]) if k > 1 and r.random() < 0.5 else [w.fr(g) for g in gl]
            else:
                gl = sorted(set(r.randrange(0x400000, 0x800000) for _ in range(k)))
                gl = [g for g in gl if not fb.backed(g)]
                if not gl:
                    continue
                gf = [w.fr(g) for g in gl]
            for g in gl:
                fb.add(g)
            owed -= len(gl)
            w.emit({"op": "memory.populate_physmap", "caller": who(w, r, B, lay), "gfns": gf})
    w.close()


def trace_ta(r, h, lay, path, n, style):
    """ta ABI: dom0 (PV: gfn = mfn) and ctx-a / ctx-b (HVM guests with pv_iommu: true)."""
    w = Writer(path, style)
    callers = {"dom0": {"devs": list(h.dom0_assignable)}, "ctx-a": {"devs": h.ta_devs["ctx-a"]}, "ctx-b": {"devs": h.ta_devs["ctx-b"]}}
    fs = {k: FrameSet(lay[k]["gfns"]) for k in callers}
    for c in callers:
        w.emit({"op": "iommu.query_capabilities", "caller": who(w, r, c, lay)})
        w.emit({"op": "iommu.init", "caller": who(w, r, c, lay), "max_ctx_no": 128, "arena_order": 12})
        st = callers[c]
        st["ctxs"] = {}
        st["free"] = list(range(1, 129))
    dfn_base = 0x10000000

    def alloc(c):
        st = callers[c]
        if not st["free"]:
            return
        no = min(st["free"])
        st["free"].remove(no)
        st["ctxs"][no] = {"maps": [], "next": dfn_base + no * 0x100000, "dev": None}
        w.emit({"op": "iommu.alloc_context", "caller": who(w, r, c, lay)})

    while w.n < n:
        c = r.choice(["dom0", "dom0", "ctx-a", "ctx-b"])
        st = callers[c]
        if len(st["ctxs"]) < 2 or (r.random() < 0.002 and len(st["ctxs"]) < 100):
            alloc(c)
            continue
        no = r.choice(list(st["ctxs"]))
        ctx = st["ctxs"][no]
        x = r.random()
        if x < 0.5:
            k = r.choice([1, 4, 16])
            # a run of k backed gfns
            for _ in range(20):
                g = fs[c].rand_backed(r)
                if all(fs[c].in_ext(g + j) for j in range(k)):
                    break
            dfn = ctx["next"]
            ctx["next"] += k + r.choice([0, 0, 16])
            ctx["maps"].append((dfn, k))
            w.emit({"op": "iommu.map_pages", "caller": who(w, r, c, lay), "ctx_no": no, "gfn": w.fr(g), "dfn": w.fr(dfn),
                    "nr_pages": k, "flags": ["read", "write"] if r.random() < 0.85 else ["read"]})
        elif x < 0.9:
            if not ctx["maps"]:
                continue
            dfn, k = ctx["maps"].pop(r.randrange(len(ctx["maps"])))
            w.emit({"op": "iommu.unmap_pages", "caller": who(w, r, c, lay), "ctx_no": no, "dfn": w.fr(dfn), "nr_pages": k})
        elif x < 0.94:
            if not st["devs"]:
                continue
            dv = r.choice(st["devs"])
            # move a device into this context (from wherever it is)
            for o in st["ctxs"].values():
                if o["dev"] == dv:
                    o["dev"] = None
            ctx["dev"] = dv
            w.emit({"op": "iommu.reattach_device", "caller": who(w, r, c, lay), "ctx_no": no, "device": dv})
        elif x < 0.95:
            w.emit({"op": "iommu.query_capabilities", "caller": who(w, r, c, lay)})
        elif x < 0.96 and len(st["ctxs"]) > 2:
            w.emit({"op": "iommu.free_context", "caller": who(w, r, c, lay), "ctx_no": no, "reattach_default": True})
            del st["ctxs"][no]
            st["free"].append(no)
        elif x < 0.97 and c != "dom0":
            # hardware domain drives a guest's context remotely (e.g. QEMU's IOMMU emulation)
            w.emit({"op": "iommu.remote_cmd", "domid": who(w, r, c, lay), "subop": "query_capabilities"})
        else:
            if not ctx["maps"]:
                continue
            dfn, k = r.choice(ctx["maps"])
            tgt = None
            if ctx["dev"] is None:
                continue
            w.emit({"op": "device.dma", "device": ctx["dev"], "bfn": w.fr(dfn + r.randrange(k)), "access": "read"})
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20141204)
    ap.add_argument("--out", default="/tmp/indep")
    ap.add_argument("--hosts", type=int, default=400)
    ap.add_argument("--only", choices=["fleet", "traces", "all"], default="all")
    ap.add_argument("--traces", default="mix,ta,hvm,translate,grant,churn")
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    r = random.Random(a.seed)
    hosts = []
    for i in range(a.hosts):
        forced = "xs" if i == 0 else ("ta" if i == 1 else None)
        hosts.append(gen_host(random.Random(r.getrandbits(64)), i, forced))
    if a.only in ("fleet", "all"):
        write_fleet(hosts, a.out)
        nd = sum(len(h.domains) for h in hosts)
        nv = sum(len(h.devices) for h in hosts)
        print("fleet: %d hosts, %d domains, %d devices, %d scenarios" % (len(hosts), nd, nv, sum(len(h.scenarios) for h in hosts)))
    if a.only == "fleet":
        return
    xs, ta = hosts[0], hosts[1]
    lx, lt = layout(xs), layout(ta)
    # bookkeeping the traces need
    owners = {}
    for d in xs.domains:
        for p in d.get("pci", []):
            owners[p["dev"]] = d["name"]
    xs.vf_owners = [(o, dv) for dv, o in owners.items() if "-vf" in dv and lx[o]["type"] == "hvm"]
    assigned = set(owners)
    xs.spare_vf = [v for v in xs.vfs if v not in assigned][0]
    towners = {}
    for d in ta.domains:
        for p in d.get("pci", []):
            towners[p["dev"]] = d["name"]
    ta.ta_devs = {k: [dv for dv, o in towners.items() if o == k and not dv.endswith("-audio")] for k in ("ctx-a", "ctx-b")}
    ta.dom0_assignable = [v for v in ta.vfs if v not in towners][:4] + [v for v in ta.nvmes if v not in towners][:1]
    trdir = os.path.join(a.out, "tr")
    os.makedirs(trdir, exist_ok=True)
    S = a.scale
    plan = {
        "mix": (trace_mix, xs, lx, 500000, {"spaces": False, "hex": True, "callers": "name"}),
        "ta": (trace_ta, ta, lt, 500000, {"spaces": True, "hex": False, "callers": "name"}),
        "hvm": (trace_hvm, xs, lx, 400000, {"spaces": True, "hex": True, "callers": "id"}),
        "translate": (trace_translate, xs, lx, 400000, {"spaces": False, "hex": False, "callers": "mix"}),
        "grant": (trace_grant, xs, lx, 400000, {"spaces": False, "hex": True, "callers": "mix"}),
        "churn": (trace_churn, xs, lx, 400000, {"spaces": True, "hex": False, "callers": "name", "ranges": True}),
    }
    hostmap = {k: v[1].name for k, v in plan.items()}
    for name in a.traces.split(","):
        fn, h, lay, n, st = plan[name]
        fn(random.Random("%d-%s" % (a.seed, name)), h, lay, os.path.join(trdir, name + ".jsonl"), int(n * S), st)
        print("trace %s: %d calls on %s" % (name, int(n * S), h.name))
    with open(os.path.join(trdir, "hosts.json"), "w") as f:
        json.dump(hostmap, f, indent=1)


if __name__ == "__main__":
    main()
