// The daemons cap V8's young generation. By default V8 doubles the semi-spaces (up to 16 MiB
// each, 32 MiB in all) whenever many objects survive a scavenge, as happens while a publishing
// burst's socket reads are alive; the grown space stays resident, and the read buffers it keeps
// alive between scavenges leave holes in the allocator's heap that queued bodies cannot use.
// Measured with 1,000,000 200-byte messages queued: 336 MB RSS by default, 304 MB with no growth
// at all, but consuming (whose in-flight messages are what survives) ran ~15 % slower with no
// growth. The cap lets the space grow to `capMiB`, then stops it: V8 reads the maximum size only
// when the heap is set up, but the growth factor each time it would grow the space, so setting the
// factor to 1 once the space reached the cap is the cap. Checked after each garbage collection
// until then (a few microseconds each), so an idle node wakes for nothing. Given explicitly (node
// --semi-space-growth-factor or --max-semi-space-size, also in NODE_OPTIONS), the user's setting
// wins.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export function capYoungGeneration(capMiB: number): void {
  const given = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].join(' ');
  if (/semi[-_]space/.test(given)) return;
  const cap = capMiB * 1024 * 1024;
  // checked after garbage collections only, so an idle node has no timer waking it
  const observer = new PerformanceObserver(() => {
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    // one more doubling would pass the cap
    if (space === undefined || space.space_size * 2 > cap) {
      setFlagsFromString('--semi-space-growth-factor=1');
      observer.disconnect();
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}
