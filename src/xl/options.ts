import { editDistance } from '../util/suggest.js';

/**
 * Every top-level key xl.cfg(5) documents (docs/man/xl.cfg.5.pod.in), plus the few that
 * tools/xl/xl_parse.c reads without documenting them (scheduler parameters, deprecated
 * spellings it still reads or warns about). A key outside this list is ignored by xl without a
 * word, which is how typos (`pci_permisive=1`) slip through; `xl/unknown-option` reports them.
 *
 * Keys of SPEC_STRINGs (vif, disk, vfb, …) are not top-level options and are not listed.
 */
export const XL_CFG_OPTIONS: ReadonlySet<string> = new Set([
  // Mandatory, guest type
  'name', 'type', 'builder',
  // CPU allocation and scheduling
  'pool', 'vcpus', 'maxvcpus', 'cpus', 'cpus_soft', 'cpu_weight', 'cap',
  'period', 'slice', 'latency', 'extratime', // read by xl_parse.c, undocumented
  // Memory, vNUMA
  'memory', 'maxmem', 'vnuma',
  // Event actions
  'on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash', 'on_soft_reset',
  // Direct kernel boot, firmware
  'kernel', 'ramdisk', 'cmdline', 'root', 'extra', 'firmware',
  'pvshim', 'pvshim_path', 'pvshim_cmdline', 'pvshim_extra',
  // Other general options
  'uuid', 'seclabel', 'init_seclabel', 'max_grant_frames', 'max_maptrack_frames',
  'max_grant_version', 'nomigrate', 'driver_domain', 'device_tree', 'passthrough',
  'xend_suspend_evtchn_compat', 'vmtrace_buf_kb', 'vpmu',
  // Devices
  'disk', 'vif', 'vif2', 'vtpm', 'p9', 'pvcalls', 'vfb', 'channel', 'rdm', 'usbctrl', 'usbdev',
  'pci', 'pci_permissive', 'pci_msitranslate', 'pci_seize', 'pci_power_mgmt', 'gfx_passthru',
  'rdm_mem_boundary', 'dtdev', 'ioports', 'iomem', 'irqs', 'max_event_channels', 'vdispl',
  'dm_restrict', 'device_model_user', 'vsnd', 'vkb', 'virtio', 'tee',
  // PV
  'bootloader', 'bootloader_args', 'bootloader_restrict', 'bootloader_user', 'e820_host',
  // HVM: boot, disks, paging
  'boot', 'hdtype', 'hap', 'oos', 'shadow_memory',
  // HVM: processor and platform
  'bios', 'bios_path_override', 'pae', 'acpi', 'acpi_s3', 'acpi_s4', 'acpi_laptop_slate',
  'apic', 'nx', 'hpet', 'altp2m', 'altp2mhvm', 'nestedhvm', 'cpuid', 'acpi_firmware',
  'smbios_firmware', 'smbios', 'ms_vm_genid', 'firmware_override',
  // HVM: time
  'tsc_mode', 'localtime', 'rtc_timeoffset', 'vpt_align', 'timer_mode',
  // HVM: memory layout, PV features
  'mmio_hole', 'xen_platform_pci', 'viridian', 'hvm_pirq',
  // HVM: emulated VGA, VNC, SDL, SPICE
  'videoram', 'stdvga', 'vga', 'vnc', 'vnclisten', 'vncdisplay', 'vncunused', 'vncpasswd',
  'vncviewer', 'keymap', 'sdl', 'opengl', 'display', 'xauthority', 'nographic',
  'spice', 'spicehost', 'spiceport', 'spicetls_port', 'spicedisable_ticketing', 'spicepasswd',
  'spiceagent_mouse', 'spicevdagent', 'spice_clipboard_sharing', 'spiceusbredirection',
  'spice_image_compression', 'spice_streaming_video',
  // HVM: miscellaneous emulated hardware
  'serial', 'soundhw', 'vkb_device', 'usb', 'usbversion', 'usbdevice', 'vendor_device',
  // Device model
  'device_model', 'device_model_version', 'device_model_override', 'stubdomain_kernel',
  'stubdomain_cmdline', 'stubdomain_ramdisk', 'stubdomain_memory',
  'device_model_stubdomain_override', 'device_model_stubdomain_seclabel',
  'device_model_args', 'device_model_args_pv', 'device_model_args_hvm',
  // Arm
  'gic_version', 'vuart', 'sve', 'nr_spis', 'trap_unmapped_accesses', 'llc_colors',
  // x86
  'mca_caps', 'msr_relaxed',
]);

/**
 * Top-level keys of xm/xend, Xen's toolstack before xl, that xl does not read. Configs written
 * for xm (and the templates that still emit them, such as old xen-tools' `dhcp`) keep them;
 * xl ignores them, which is harmless, so they are reported as info rather than as typos.
 */
export const XM_ONLY_OPTIONS: ReadonlySet<string> = new Set([
  'on_xend_start', 'on_xend_stop', 'vncconsole', 'dhcp', 'ip', 'netmask', 'gateway', 'hostname',
  'interface', 'nfs_server', 'nfs_root', 'vscsi', 'cpu_cap', 'vcpu_avail', 'vhpt', 'guest_os_type',
  'superpages', 'blkif', 'netif', 'tpmif', 'security', 'access_control', 'machine_address_size',
  'suppress_spurious_page_faults', 's3_integrity', 'memory_sharing', 'expose_host_uuid', 'isa',
  'fda', 'fdb', 'monitor', 'cpuid_check',
]);

/** Damerau–Levenshtein (optimal string alignment) distance, for "did you mean" hints. */
const distance = editDistance;

const SORTED_OPTIONS: readonly string[] = [...XL_CFG_OPTIONS].sort();

/** The closest known option to a misspelt key, if one is close enough to be a likely typo. */
export function suggestOption(key: string, known: Iterable<string> = XL_CFG_OPTIONS): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = key.length <= 4 ? 1 : 2;
  for (const k of known === XL_CFG_OPTIONS ? SORTED_OPTIONS : [...known].sort()) {
    // The distance is at least the difference in length: skip what cannot be within the limit.
    if (Math.abs(key.length - k.length) > limit) continue;
    const dd = distance(key, k);
    if (dd < bestD) {
      best = k;
      bestD = dd;
    }
  }
  return bestD <= limit ? best : undefined;
}
