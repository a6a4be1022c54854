import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'dma/wrong-page',
  severity: 'error',
  phase: 'dynamic',
  description: '`device.dma` reached a different page than its `target` gfn is backed by.',
});
