import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'xl/syntax',
  severity: 'error',
  phase: 'input',
  description: 'An xl.cfg file that xl cannot parse: bad quoting, numbers, lists or statement separators.',
});
