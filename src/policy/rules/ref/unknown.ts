import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'ref/unknown',
  severity: 'error',
  phase: 'input',
  description: 'A name (host, domain, device, device model) that no document defines.',
});
