import { defineRule } from '../../rule.js';

export default defineRule({
  id: 'xl/pci-spec',
  severity: 'error',
  phase: 'input',
  description: 'A PCI_SPEC_STRING that xl refuses: SBDF or vslot out of range, function * without vslot, both or neither of bdf/name, unknown key, bad boolean.',
});
