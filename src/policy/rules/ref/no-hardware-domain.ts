import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'ref/no-hardware-domain',
  severity: 'error',
  phase: 'input',
  description: 'A host has domains but none with role hardware, or more than one.',
});
