// "did you mean": the closest known name to a mistyped command or flag.

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Words people type for our commands (the Go tools' and other queues' names). */
const SYNONYMS: Record<string, string> = {
  publish: 'pub',
  produce: 'pub',
  send: 'pub',
  subscribe: 'tail',
  sub: 'tail',
  consume: 'tail',
  read: 'tail',
  nsqd: 'serve',
  server: 'serve',
  start: 'serve',
  daemon: 'serve',
  nsqlookupd: 'lookupd',
  lookup: 'lookupd',
  stat: 'top',
  stats: 'top',
  dashboard: 'top',
  admin: 'top',
  list: 'ls',
  to_file: 'to-file',
  tofile: 'to-file',
  nsq_to_file: 'to-file',
  to_http: 'to-http',
  nsq_to_http: 'to-http',
  nsq_to_nsq: 'to-nsq',
  to_nsq: 'pub',
  nsq_tail: 'tail',
  nsq_stat: 'top',
};

/** The known name `word` most likely meant, or null when none is close. */
export function closest(word: string, known: readonly string[]): string | null {
  const lower = word.toLowerCase();
  const synonym = SYNONYMS[lower];
  if (synonym !== undefined && known.includes(synonym)) return synonym;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = k.startsWith(lower) || lower.startsWith(k) ? Math.min(1, editDistance(lower, k)) : editDistance(lower, k);
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  // a third of the word may be wrong, and at least one letter
  return best !== null && bestDistance <= Math.max(1, Math.floor(lower.length / 3)) ? best : null;
}
