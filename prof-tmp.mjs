import { loadText } from './dist/config/load.js';
import { validateDocs } from './dist/config/validate.js';
import { formatCheck, sortFindings } from './dist/report/index.js';
import { RULES } from './dist/policy/registry.js';
const n = 50000;
const which = process.argv[2];
const text = which === 'dups' ? 'apiVersion: pviommu/v1\nkind: Host\nname: k\n' + 'ram: 1GiB\n'.repeat(n) : Array.from({ length: n / 5 }, (_, i) => `apiVersion: pviommu/v1\nkind: Device\nname: d${i}\nbdf: "00:02.0"\n`).join('---\n');
let t = performance.now();
const l = loadText('h.yaml', text);
const v = validateDocs(l.docs);
const findings = [...l.findings, ...v.findings];
console.log('load+validate', performance.now() - t);
const report = { version: 1, tool: { name: 'pviommu', version: 'x' }, summary: { files: 1, documents: 1, skipped: 0, hosts: 0, domains: 0, devices: 0, scenarios: 0, errors: 0, warnings: 0, infos: 0, suppressed: 0 }, findings: sortFindings(findings) };
for (const f of ['text', 'json', 'sarif', 'junit', 'github']) {
  t = performance.now();
  formatCheck(report, f, { color: false, files: ['h.yaml'], rules: [...RULES] });
  console.log(f, (performance.now() - t).toFixed(0));
}
