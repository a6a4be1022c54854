/**
 * Preloaded into a measured Node child (`node --import bench/lib/maxrss.mjs …`): at exit, writes
 * the process's peak resident set size (KiB, from getrusage) to $PVIOMMU_BENCH_RSS_FILE. Nothing
 * is printed: the child's stdout and stderr stay its own.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.PVIOMMU_BENCH_RSS_FILE;
if (out) {
  process.on('exit', () => {
    try {
      writeFileSync(out, String(process.resourceUsage().maxRSS));
    } catch {
      // the bench reports a missing number; the child's own exit must not change
    }
  });
}
