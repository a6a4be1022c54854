/**
 * The static rules only read the machine they are given: `runCheck` hands the same machine to the
 * host's first scenario instead of building it twice, which is right only if no rule changes it.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadText } from '../../src/config/load.js';
import { validateDocs } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import { inspect } from '../../src/model/inspect.js';
import type { Machine } from '../../src/model/types.js';
import { checkHost } from '../../src/check.js';
import { staticRules } from '../../src/policy/registry.js';

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** Everything the model holds that a rule could change, as text. */
function snapshot(m: Machine): string {
  const domains = [...m.domains.values()].map((d) => ({ domid: d.domid, totPages: d.totPages, destroyed: d.destroyed }));
  const devices = [...m.devices.values()].map((d) => ({ bdf: d.bdf, owner: d.owner, ctxNo: d.ctxNo }));
  return JSON.stringify({ tables: inspect(m), domains, devices, pages: m.pages.toArray(), ram: m.ram.frames, rmrr: m.rmrr.frames });
}

describe('static rules leave the machine as built', () => {
  const files = [...yamlFiles('fixtures/rules'), ...yamlFiles('examples')];
  it(`on every rule fixture and example (${files.length} files)`, () => {
    let hosts = 0;
    const rules = staticRules();
    for (const file of files) {
      const { config } = validateDocs(loadText(file, readFileSync(file, 'utf8')).docs);
      for (const hc of config.hosts) {
        if (hc.inputErrors) continue;
        const m = buildMachine(hc);
        const before = snapshot(m);
        checkHost(hc, rules, m);
        expect(snapshot(m), file).toBe(before);
        hosts++;
      }
    }
    expect(hosts).toBeGreaterThan(50);
  });
});
