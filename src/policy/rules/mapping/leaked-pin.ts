import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'mapping/leaked-pin',
  severity: 'warning',
  phase: 'dynamic',
  description: 'At the end of a scenario, pages of a destroyed domain are still held by foreign pins, mappings or references.',
});
