import type { Rule } from '../../rule.js';
import bridgeSplit from './bridge-split.js';
import broken from './broken.js';
import hostBridge from './host-bridge.js';
import multipleOwners from './multiple-owners.js';
import notAssignable from './not-assignable.js';
import orphanVf from './orphan-vf.js';
import permissive from './permissive.js';
import seize from './seize.js';

export default [bridgeSplit, broken, hostBridge, multipleOwners, notAssignable, orphanVf, permissive, seize] as Rule[];
