import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'dma/address-wrap',
  severity: 'error',
  phase: 'dynamic',
  description: 'A BFN beyond the VT-d address width was masked to a low, aliased address.',
});
