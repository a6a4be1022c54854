import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'ref/duplicate',
  severity: 'error',
  phase: 'input',
  description: 'Two documents with the same kind and name, two domains with one domid on a host, or two devices with one BDF.',
});
