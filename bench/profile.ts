// Reads the V8 CPU profiles a server wrote (node --cpu-prof) and ranks functions by self time.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  fn: string;
  where: string;
  /** share of the busy (non-idle) samples */
  selfPct: number;
}

/**
 * The top `n` functions by self time over every .cpuprofile in `dir`, as shares of the time the
 * server was busy (idle samples left out). The profile covers the server's whole life, start-up
 * and shutdown included.
 */
export function hotFunctions(dir: string, n = 15): HotFunction[] {
  const self = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  for (const file of files) {
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    for (const node of prof.nodes) {
      const hits = node.hitCount ?? 0;
      if (hits === 0) continue;
      const cf = node.callFrame;
      const fn = cf.functionName || '(anonymous)';
      if (fn === '(idle)') continue;
      const where = cf.url === '' ? '' : `${cf.url.replace(/^file:\/\/.*?\/dist\//, '')}:${cf.lineNumber + 1}`;
      const key = `${fn}@${where}`;
      const entry = self.get(key) ?? { fn, where, hits: 0 };
      entry.hits += hits;
      self.set(key, entry);
      total += hits;
    }
  }
  return [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfPct: Math.round((1000 * e.hits) / total) / 10 }));
}
