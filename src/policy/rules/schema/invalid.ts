import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'schema/invalid',
  severity: 'error',
  phase: 'input',
  description: 'A document does not match its schema: wrong type, unknown key, missing field, bad enum, malformed number, range, size or BDF.',
});
