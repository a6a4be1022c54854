import type { Rule } from '../../rule.js';
import gfnOverlap from './gfn-overlap.js';
import maxmem from './maxmem.js';
import mfnAlias from './mfn-alias.js';
import overcommit from './overcommit.js';

export default [gfnOverlap, maxmem, mfnAlias, overcommit] as Rule[];
