import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'xl/unknown-option',
  severity: 'warning',
  phase: 'input',
  description: 'A key that is not an xl.cfg option at all: xl ignores it silently.',
});
