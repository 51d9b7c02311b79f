// The peek view's lines (`v`): asked of the nodes when it opens, at every snapshot and at every `r`.

import { useEffect, useRef, useState } from 'react';
import { peekLines, type PeekLine, type PeekNode } from '../peek.js';
import { describeTarget, type Target, type ViewState } from '../view.js';

/**
 * The lines of the open peek view: asked again at every snapshot (the dashboard's refresh, so not
 * while frozen) and at every `r`. An answer that comes after a newer one, or for a view that has
 * closed since, is dropped; a slow node's answer is not cancelled by the next refresh.
 */
export function usePeek(open: ViewState['peek'], version: number, rows: number, peek: (target: Target, n: number) => Promise<PeekNode[]>): PeekLine[] | null {
  const [shown, setShown] = useState<{ key: string; lines: PeekLine[] } | null>(null);
  const key = open === null ? null : `${describeTarget(open.target)}@${open.target.nodes.join(',')}`;
  const latest = useRef({ key, asked: 0, applied: 0 });
  latest.current.key = key;
  useEffect(() => {
    if (open === null || key === null) {
      // opened again later, the view starts empty rather than with what it showed before
      setShown(null);
      return;
    }
    const asked = ++latest.current.asked;
    // each node has a heading line; the rest of the view is its messages
    const n = Math.max(1, rows - open.target.nodes.length);
    // a peek that fails as a whole (a test's, or a bug) is a line in the view, never the dashboard's end
    const failed = (err: unknown): PeekNode[] => [{ node: open.target.nodes.join(' '), error: err instanceof Error ? err.message : String(err) }];
    void peek(open.target, n)
      .catch(failed)
      .then((nodes) => {
        const l = latest.current;
        if (l.key !== key || asked < l.applied) return;
        l.applied = asked;
        setShown({ key, lines: peekLines(open.target, nodes, Date.now()) });
      });
  }, [key, open?.round, version, rows, peek]);
  return shown !== null && shown.key === key ? shown.lines : null;
}
