import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'scenario/expectation-failed',
  severity: 'error',
  phase: 'dynamic',
  description: "A scenario call's result differs from its `expect` (rc, status, statuses, errno or a named output).",
});
