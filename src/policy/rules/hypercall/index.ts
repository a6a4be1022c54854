import type { Rule } from '../../rule.js';
import rawMfnExposed from './raw-mfn-exposed.js';

export default [rawMfnExposed] as Rule[];
