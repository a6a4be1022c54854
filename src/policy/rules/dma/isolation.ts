import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'dma/isolation',
  severity: 'error',
  phase: 'dynamic',
  description: "`device.dma` reached a page owned by a domain that is neither the device's owner nor the target, a free page, or Xen's memory.",
});
