/** xl.cfg input: the language (parse), its meaning as a Domain document (to-domain), and YAML output. */
export { parseXl, type Span, type XlValue, type XlSetting, type XlComment, type XlParseResult } from './parse.js';
export { xlToDomain, XL_RULES, type XlDomain, type XlToDomainOptions } from './to-domain.js';
export { domainToYaml } from './yaml.js';
export { parsePciSpec, formatBdf, type PciSpec } from './pci-spec.js';
export { XL_CFG_OPTIONS } from './options.js';
