import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'mapping/dangling',
  severity: 'error',
  phase: 'dynamic',
  description: 'At the end of a scenario, a frame handed out without a reference (`memory.translate`, `no_ref_cnt` mapping) points at a page that was freed or now belongs to another domain.',
});
