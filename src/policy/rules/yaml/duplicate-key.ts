import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'yaml/duplicate-key',
  severity: 'error',
  phase: 'input',
  description: 'A mapping repeats a key; YAML tools disagree on which value wins.',
});
