import type { Rule } from '../../rule.js';
import ambiguousScalar from './ambiguous-scalar.js';
import duplicateKey from './duplicate-key.js';
import syntax from './syntax.js';

export default [ambiguousScalar, duplicateKey, syntax] as Rule[];
