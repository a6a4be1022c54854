import type { Rule } from '../../rule.js';
import dangling from './dangling.js';
import leakedPin from './leaked-pin.js';

export default [dangling, leakedPin] as Rule[];
