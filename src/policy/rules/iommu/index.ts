import type { Rule } from '../../rule.js';
import addressWidth from './address-width.js';
import quarantineOff from './quarantine-off.js';

export default [addressWidth, quarantineOff] as Rule[];
