/**
 * The hypercall emulator (SPEC §4, §6.2): run scenarios and traces against a machine model.
 *
 * Decisions where SPEC and the references are silent (each op's module says more):
 * - Reservation ops (populate_physmap, decrease_reservation) answer an unknown domain or an XSM
 *   denial with rc 0 (`done: 0`), as do_memory_op does (`return start_extent`), not ESRCH.
 * - memory.translate: more than 2048 gfns is E2BIG (SPEC; the XenGT patch says ENOMEM), checked
 *   after the domain lookup, as in the patch; a PV target's "gfn" is returned as is.
 * - An argument that cannot be encoded in the hypercall (not a number, a frame ≥ 2^52, a domid
 *   ≥ 2^16, an unknown flag or subop name, a missing field, an unknown key) is `schema/invalid`
 *   at its node and the call is not made (result −EINVAL). A domain / device name no document
 *   defines is `ref/unknown`; the call is made with DOMID_INVALID / no device and fails as Xen
 *   would (ESRCH, ENXIO, ENODEV, 0 done …). Numeric ids that do not exist are plain errnos.
 * - A destroyed domain is gone: lookups fail (ESRCH …) and its own calls return ESRCH.
 * - xs: every mapping holds its own reference — map_page (without no_ref_cnt) and
 *   map_foreign_page entries, each dropped when that entry is unmapped, whatever no_ref_cnt says
 *   at unmap time; lookup_foreign_page pins a page once (its window BFN). unmap_foreign_page of a
 *   BFN that is neither the window nor a map_foreign entry is ENOENT. A BFN beyond the VT-d width
 *   is programmed at its wrapped (masked) DFN; on AMD it cannot be mapped (EIO / ta EFAULT).
 * - ta: the hardware domain may use the PV-IOMMU whenever it has an IOMMU context; init refuses
 *   max_ctx_no > 0xffff (E2BIG: context numbers are u16); a new context starts empty and a device
 *   reattached to it brings its RMRRs (reserved, mapped 1:1); free_context drops the references of
 *   the mappings left in the context; map_pages of a PoD / paged gfn is ENOENT (no populate).
 * - grants: a grant is "granter grants its gfn" (PV granter: an MFN it owns); an unbacked gfn is
 *   GNTST_bad_page; a translated host map without host_gfn is GNTST_bad_virt_addr; handles are
 *   per mapper, numbered from 0, never reused; each mapping holds one page reference.
 * - domctl: the shared-RMRR EPERM is VT-d's (intel hosts only); an RMRR over guest RAM is EBUSY
 *   unless rdm_relaxed; a device goes back to quarantine on deassign when quarantine ≠ none or it
 *   has been quarantined before (`pdev->quarantine`); destroying oneself is EINVAL; an assignment
 *   that fails after the RMRR identity maps (a host bridge) removes the ones it made, as
 *   intel_iommu_assign_device does.
 * - device.dma: result −EFAULT on a fault, −EACCES on a permission fault (out still names the
 *   page), −ENODEV for an unknown device; `access` defaults to write; a target that has been
 *   destroyed still counts as the target; without a `target`, a mediated device may reach its
 *   vgpus' memory; RMRR / non-RAM frames and the quarantine scratch page are never isolation breaks.
 *   Findings about the address point at `bfn`, or at `bfn_of` / `mfn_of` when it came from an
 *   earlier call; dma/wrong-page and dma/isolation (with a target) point at `target`.
 * - Outputs: frames as "0x…" hex strings (dev_bus_addr and max_iova_addr are byte addresses, also
 *   hex); batches put per-element outputs in `out.ops`; `bfn_of` / `mfn_of` take out.bfn /
 *   out.mfn (or the first of out.mfns, or the first element of a batch that has one) and are
 *   accepted wherever a BFN / DFN argument is.
 * - Traces: every non-blank line is a call and takes the next index; a bad line is a call that
 *   could not be made (schema/invalid at file:line, −EINVAL).
 * - The report's top-level `findings` lists every finding of the run (those of the calls too).
 */

export type { Abi, CallReport, CallResult, EmulateReport, EmulateSummary, OpContext, OpFn, OpSpec, Out, RawCall } from './types.js';
export { runScenario, runCalls, withAbi, Session, OPS, sameValue, type RunOptions, type RunResult } from './scenario.js';
export { emulateTrace, readTrace, forEachTraceLine, type TraceLine } from './trace.js';
export { stateOf } from './mm.js';
export * as memory from './memory.js';
export * as grant from './grant.js';
export * as domctl from './domctl.js';
export * as xs from './pv-iommu-xs.js';
export * as ta from './pv-iommu-ta.js';
export * as dma from './dma.js';
export { formatCallText, formatEmulateText, formatEndFinding, formatInputText, formatSummaryText, encodeCallText } from './text.js';
