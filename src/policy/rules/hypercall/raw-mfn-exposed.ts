import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'hypercall/raw-mfn-exposed',
  severity: 'warning',
  phase: 'dynamic',
  description: 'A `memory.translate` call returned raw MFNs without taking a page reference.',
});
