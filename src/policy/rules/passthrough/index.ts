import type { Rule } from '../../rule.js';
import disabledWithDevices from './disabled-with-devices.js';
import liveMigration from './live-migration.js';
import noIommu from './no-iommu.js';
import pod from './pod.js';
import pvh from './pvh.js';
import sharePtInvalid from './share-pt-invalid.js';

export default [disabledWithDevices, liveMigration, noIommu, pod, pvh, sharePtInvalid] as Rule[];
