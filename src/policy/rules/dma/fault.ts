import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'dma/fault',
  severity: 'error',
  phase: 'dynamic',
  description: "`device.dma` to a BFN the device's context does not map, that the device cannot emit, or beyond the address width on AMD.",
});
