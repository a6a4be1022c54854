import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'yaml/ambiguous-scalar',
  severity: 'warning',
  phase: 'input',
  description: 'An unquoted value that YAML 1.1 tools read differently from YAML 1.2.',
});
