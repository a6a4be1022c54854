import type { Rule } from '../../rule.js';
import invalid from './invalid.js';

export default [invalid] as Rule[];
