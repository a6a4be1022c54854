import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'dma/permission',
  severity: 'error',
  phase: 'dynamic',
  description: '`device.dma` writes (or reads) through an IOMMU mapping that does not allow it.',
});
