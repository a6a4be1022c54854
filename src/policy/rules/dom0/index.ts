import type { Rule } from '../../rule.js';
import passthrough from './passthrough.js';
import pvhNotStrict from './pvh-not-strict.js';
import relaxedIommu from './relaxed-iommu.js';

export default [passthrough, pvhNotStrict, relaxedIommu] as Rule[];
