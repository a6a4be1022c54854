import type { Rule } from '../../rule.js';
import gpaAliasing from './gpa-aliasing.js';
import mfnStrictDom0 from './mfn-strict-dom0.js';
import mfnUnreferenced from './mfn-unreferenced.js';

export default [gpaAliasing, mfnStrictDom0, mfnUnreferenced] as Rule[];
