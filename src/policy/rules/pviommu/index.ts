import type { Rule } from '../../rule.js';
import unusable from './unusable.js';
import windowBeyondDma from './window-beyond-dma.js';
import windowOverlap from './window-overlap.js';

export default [unusable, windowBeyondDma, windowOverlap] as Rule[];
