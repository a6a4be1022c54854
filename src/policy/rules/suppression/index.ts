import type { Rule } from '../../rule.js';
import invalid from './invalid.js';
import unused from './unused.js';

export default [invalid, unused] as Rule[];
