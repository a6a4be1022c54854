import type { Rule } from '../../rule.js';
import conflict from './conflict.js';
import globalPolicyIgnored from './global-policy-ignored.js';
import sharedRmrr from './shared-rmrr.js';

export default [conflict, globalPolicyIgnored, sharedRmrr] as Rule[];
