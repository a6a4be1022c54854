import type { Rule } from '../../rule.js';
import duplicate from './duplicate.js';
import noHardwareDomain from './no-hardware-domain.js';
import unknown from './unknown.js';

export default [duplicate, noHardwareDomain, unknown] as Rule[];
