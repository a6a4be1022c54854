import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'xl/invalid-value',
  severity: 'error',
  phase: 'input',
  description: 'An xl.cfg option with a value xl rejects (type, builder, memory, passthrough, mmio_hole, rdm, iomem, ioports …).',
});
