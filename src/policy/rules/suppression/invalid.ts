import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'suppression/invalid',
  severity: 'warning',
  phase: 'input',
  description: 'A pviommu-disable-next-line comment without a rule id or without a reason.',
});
