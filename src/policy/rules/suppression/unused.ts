import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'suppression/unused',
  severity: 'warning',
  phase: 'input',
  description: 'A pviommu-disable-next-line comment that suppressed nothing.',
});
