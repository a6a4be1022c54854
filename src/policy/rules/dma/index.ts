import type { Rule } from '../../rule.js';
import fault from './fault.js';
import permission from './permission.js';
import wrongPage from './wrong-page.js';
import isolation from './isolation.js';
import addressWrap from './address-wrap.js';

export default [addressWrap, fault, isolation, permission, wrongPage] as Rule[];
