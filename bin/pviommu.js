#!/usr/bin/env node
import { BUNDLE, loadBundle } from './load-bundle.js';

let main;
try {
  main = loadBundle().exports.main;
} catch (e) {
  if (e?.code !== 'ENOENT' || e.path !== BUNDLE) throw e;
  process.stderr.write(`pviommu: error: ${BUNDLE} is missing; build it with \`npm run build\` (npm ci does)\n`);
  process.exit(2);
}
main(process.argv).then((code) => {
  process.exitCode = code;
});
