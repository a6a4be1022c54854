import type { Rule } from '../../rule.js';
import syntax from './syntax.js';
import pciSpec from './pci-spec.js';
import invalidValue from './invalid-value.js';
import unknownOption from './unknown-option.js';

export default [syntax, pciSpec, invalidValue, unknownOption] as Rule[];
