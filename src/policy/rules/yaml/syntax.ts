import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'yaml/syntax',
  severity: 'error',
  phase: 'input',
  description: 'The file is not valid YAML (or not valid UTF-8, or exceeds a resource limit).',
});
