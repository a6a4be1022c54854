/** Types of fleet.mjs (for the TypeScript tests that generate fleets). */
export interface FleetOptions {
  /** Number of hosts (default 400). */
  hosts?: number;
  /** Domains per host, dom0 included (default 25). */
  domainsPerHost?: number;
  /** Host RAM: bytes or a size such as "256GiB" (default "256GiB"). */
  ram?: string | number;
  seed?: number;
  /** Share of the hosts that get one injected mistake (default 0.02). */
  faultRate?: number;
  /** Also write broken.yaml (invalid YAML) and strays/orphan.yaml (a Domain of an unknown host). */
  extras?: boolean;
}

export interface FleetStats {
  files: number;
  bytes: number;
  documents: number;
  hosts: number;
  domains: number;
  devices: number;
  scenarios: number;
  skipped: number;
  faults: { host: string; fault: string }[];
}

export const DEFAULTS: Required<FleetOptions>;
export const FAULTS: string[];
export function parseSize(s: string): number;
export function generateFleet(dir: string, options?: FleetOptions): FleetStats;
