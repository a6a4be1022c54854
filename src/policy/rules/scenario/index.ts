import type { Rule } from '../../rule.js';
import expectationFailed from './expectation-failed.js';

export default [expectationFailed] as Rule[];
