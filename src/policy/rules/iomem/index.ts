import type { Rule } from '../../rule.js';
import overlapsRam from './overlaps-ram.js';
import shared from './shared.js';
import untrusted from './untrusted.js';

export default [overlapsRam, shared, untrusted] as Rule[];
