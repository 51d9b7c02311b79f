// Retention (docs/retention.md): which done journal segments a durable topic keeps. Compaction
// deletes the sealed segments whose every ID is below a mark; retention lowers that mark so the
// newest done segments stay while the limits allow, for channels created with `from=`.

import type { SegmentInfo } from './segment-log.js';

export interface RetentionLimits {
  /** ms; 0: no time-based retention */
  retention: number;
  /** bytes; 0: no size limit */
  retentionSize: number;
}

/**
 * The ID below which segments may go, given `segments` (oldest first) and `needed`, the lowest ID a
 * channel or the topic still holds. A done segment (every ID below `needed`) is kept while it is
 * younger than `retention` (its newest record) and the done segments kept, newest first, fit in
 * `retentionSize`; each limit applies when it is set, and once one segment goes, every older one
 * goes too.
 */
export function retentionMark(segments: readonly SegmentInfo[], needed: number, limits: RetentionLimits, nowNs: number): number {
  if (limits.retention <= 0 && limits.retentionSize <= 0) return needed;
  let mark = needed;
  let kept = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    if (s.maxId >= needed) continue;
    kept += s.bytes;
    const young = limits.retention <= 0 || nowNs - s.maxTs < limits.retention * 1e6;
    const fits = limits.retentionSize <= 0 || kept <= limits.retentionSize;
    if (!young || !fits) break;
    mark = Math.min(mark, s.minId);
  }
  return mark;
}
