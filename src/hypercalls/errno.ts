/**
 * Xen's public error numbers (xen/include/public/errno.h — equal to Linux x86's values) and the
 * grant-table status codes (GNTST_*, xen/include/public/grant_table.h).
 */
import type { CallResult, Out } from './types.js';

export const ERRNO: Readonly<Record<string, number>> = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  ETIME: 62,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EILSEQ: 84,
  ERESTART: 85,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
});

/** GNTST_* status codes (negative values as returned). */
export const GNTST: Readonly<Record<string, number>> = Object.freeze({
  GNTST_okay: 0,
  GNTST_general_error: -1,
  GNTST_bad_domain: -2,
  GNTST_bad_gntref: -3,
  GNTST_bad_handle: -4,
  GNTST_bad_virt_addr: -5,
  GNTST_bad_dev_addr: -6,
  GNTST_no_device_space: -7,
  GNTST_permission_denied: -8,
  GNTST_bad_page: -9,
  GNTST_bad_copy_arg: -10,
  GNTST_address_too_big: -11,
  GNTST_eagain: -12,
  GNTST_no_space: -13,
});

const ERRNO_BY_VALUE = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));
const GNTST_BY_VALUE = new Map<number, string>(Object.entries(GNTST).map(([k, v]) => [v, k]));

/** `-EPERM` as a status value. */
export function err(name: keyof typeof ERRNO | string): number {
  const v = ERRNO[name];
  if (v === undefined) throw new RangeError(`unknown errno ${name}`);
  return -v;
}

/** Symbolic name of a (negative) status: "OK" for 0, "EPERM" for -1, "E123" when unknown. */
export function errnoName(status: number): string {
  if (status === 0) return 'OK';
  if (status > 0) return 'OK';
  return ERRNO_BY_VALUE.get(-status) ?? `E${-status}`;
}

/** Symbolic name of a grant status: "OK" for GNTST_okay. */
export function gntstName(status: number): string {
  if (status === 0) return 'OK';
  return GNTST_BY_VALUE.get(status) ?? `GNTST_${status}`;
}

/**
 * Parse an expected status as written in a scenario: a symbolic name (`EPERM`, `-EPERM`,
 * `GNTST_bad_handle`, `OK`) or a number (`-1`, `0`). Returns the negative status value.
 */
export function parseStatus(v: unknown): number | undefined {
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v === 'number') return Number.isInteger(v) && v <= 0 && v > -100000 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === 'OK' || s === '0') return 0;
  if (/^-?\d+$/.test(s)) {
    const n = Number(s);
    return n <= 0 ? n : undefined;
  }
  const name = s.startsWith('-') ? s.slice(1) : s;
  // (Own names only: `toString` and the like are no error codes.)
  if (Object.hasOwn(ERRNO, name)) return -ERRNO[name]!;
  if (Object.hasOwn(GNTST, name)) return GNTST[name]!;
  return undefined;
}

export const ERRNO_NAMES: readonly string[] = Object.keys(ERRNO);
export const GNTST_NAMES: readonly string[] = Object.keys(GNTST);

// ---------------------------------------------------------------------------------------------
// Results (SPEC §4): constructors that keep rc / status / errno consistent.


/** The empty output (shared, frozen). */
export const NO_OUT: Out = Object.freeze({}) as Out;

/**
 * A hypercall's return: `rc` is returned as is (a count for reservation ops, else 0 or −errno);
 * status = rc when negative, else 0.
 */
export function ret(rc: number, out: Out = NO_OUT): CallResult {
  const status = rc < 0 ? rc : 0;
  return { rc, status, errno: errnoName(status), out };
}

/** −errno by name as a result (`fail('EPERM')`). */
export function fail(name: string, out: Out = NO_OUT): CallResult {
  return ret(err(name), out);
}

/** A single-element call: the hypercall returned `rc` (normally 0), the element `status`. */
export function elem(status: number, out: Out = NO_OUT, rc = 0): CallResult {
  return { rc, status, errno: errnoName(status), out };
}

/** A grant-table op: hypercall rc 0, the GNTST_* status of the op. */
export function gnt(status: number, out: Out = NO_OUT): CallResult {
  return { rc: 0, status, errno: gntstName(status), out };
}
