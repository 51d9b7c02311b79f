// The dashboard: wires key presses to the view reducer, snapshots to the model, and actions to nsqd.
// On a terminal the frame is exactly its height (the table shows a page of rows), so a redraw
// after a resize covers the whole screen and leaves nothing of the frame before.

import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { runAction } from '../actions.js';
import type { TopModel } from '../model.js';
import { peekTarget, type PeekNode } from '../peek.js';
import type { Poller } from '../poller.js';
import { describeTarget, emptyText, PEEK_HINTS, headerNotes, initialView, keyHints, lines as linesOf, pageOf, press, screen, type Target, type ActionKind, type ViewState } from '../view.js';
import { ChannelScreen } from './channel-screen.js';
import { PeekScreen } from './peek-screen.js';
import { Header } from './header.js';
import { OverviewChart } from './overview-chart.js';
import { NodesScreen } from './nodes-screen.js';
import { nodeBreakdownLines, overviewChartRows } from '../chart.js';
import { Help } from './help.js';
import { TopicScreen } from './topic-screen.js';
import { TopicsScreen } from './topics-screen.js';
import { useSnapshots } from './use-snapshots.js';
import { usePeek } from './use-peek.js';
import { useTerminalSize } from './use-terminal-size.js';

export interface AppProps {
  model: TopModel;
  poller: Poller;
  /** how actions reach nsqd (tests may pass their own) */
  act?: (action: ActionKind, target: Target) => Promise<string>;
  /** how `v` peeks at a target's nodes, n messages each (tests may pass their own) */
  peek?: (target: Target, n: number) => Promise<PeekNode[]>;
  /** the name filter to start with (--filter), as if typed after `/` and kept with Enter */
  filter?: string;
  /** mark the selected row with `>`: for a terminal that shows no styles (no reverse video) */
  marker?: boolean;
  /** how long an action's message stays before the key hints come back (a key press ends it sooner) */
  messageMs?: number;
}

const APP_DEFAULTS = { act: runAction, peek: (target: Target, n: number) => peekTarget(target, n), filter: '', marker: false, messageMs: 5000 } satisfies Partial<AppProps>;

export function App(props: AppProps): React.JSX.Element {
  const { model, poller, act, peek, filter, marker, messageMs } = { ...APP_DEFAULTS, ...props };
  const { exit } = useApp();
  const [view, setView] = useState<ViewState>(() => ({ ...initialView, filter }));
  const version = useSnapshots(poller, model, view.frozen);
  const { columns: width, rows: height } = useTerminalSize();
  const notes = headerNotes(model, height === undefined ? Infinity : Math.max(1, Math.floor(height / 3)));
  // the lines around a table: the header's first line, the footer, a screen's title, the table's head
  const fixed = 2 + 1 + 1;
  const peekHeight = height === undefined ? 12 : Math.max(1, height - fixed - notes.length);
  const peeked = usePeek(view.peek, version, peekHeight, peek);

  const current = useRef(view);
  current.current = view;
  /** the "<action> <target>…" line while the action runs: it stays until the answer replaces it */
  const pending = useRef<string | null>(null);

  const onKey = useCallback(
    (input: string, key: { upArrow: boolean; downArrow: boolean; return: boolean; escape: boolean; backspace: boolean; delete: boolean; ctrl: boolean }) => {
      // keys typed faster than a frame arrive together ("jj"): take them one at a time
      if (input.length > 1 && !key.ctrl) {
        for (const ch of input) onKeyRef.current(ch, { ...key, return: false });
        return;
      }
      const [next, effect] = press(current.current, { input, ...key }, model);
      if (effect?.kind === 'quit') {
        poller.stop();
        exit();
        return;
      }
      if (effect?.kind === 'action') {
        const running = `${effect.action} ${describeTarget(effect.target)}…`;
        pending.current = running;
        current.current = { ...next, message: running };
        setView(current.current);
        void act(effect.action, effect.target).then((message) => {
          if (pending.current === running) pending.current = null;
          setView((w) => ({ ...w, message }));
          poller.refresh();
        });
        return;
      }
      current.current = next;
      setView(next);
    },
    [model, poller, exit, act],
  );
  const onKeyRef = useRef(onKey);
  onKeyRef.current = onKey;
  useInput(onKey);

  // a message goes after messageMs; the answer of a running action is waited for
  useEffect(() => {
    const shown = view.message;
    if (shown === null || shown === pending.current) return;
    const timer = setTimeout(() => setView((w) => (w.message === shown ? { ...w, message: null } : w)), messageMs);
    return () => clearTimeout(timer);
  }, [view.message, messageMs]);

  const all = linesOf(view, model);
  const selected = Math.min(view.cursor, Math.max(0, all.length - 1));
  const s = screen(view);
  const tall = height === undefined ? Infinity : height - fixed - notes.length;
  const plain = !view.help && view.peek === null;
  // the overview's and a channel's charts: a title line and their rows, when the terminal has room
  const series = s.kind === 'channel' ? model.channelSeries(s.topic, s.channel) : undefined;
  const chartRows = plain && (s.kind === 'topics' || series !== undefined) ? overviewChartRows(height) : 0;
  // a topic on several nodes: each node's share, in up to a third of the room
  const perNode = s.kind === 'topic' ? (model.topic(s.topic)?.perNode ?? []) : [];
  const breakdown = plain ? nodeBreakdownLines(perNode.length, tall === Infinity ? Infinity : Math.floor(tall / 3)) : 0;
  // the lines around the table: the topics screen has no title line; a durable topic's screen has
  // one more (what its journal retains); a channel's, the selected consumer in full
  const around =
    s.kind === 'topics' ? fixed - 1 : s.kind === 'topic' ? fixed + (model.topic(s.topic)?.retained !== undefined ? 1 : 0) + breakdown : s.kind === 'channel' && all.length > 0 ? fixed + 1 : fixed;
  const tableFixed = around + (chartRows > 0 ? chartRows + 1 : 0);
  const page = pageOf(all.length, selected, height === undefined ? all.length : Math.max(1, height - tableFixed - notes.length));
  const where = page.start > 0 || page.end < all.length ? `${page.start + 1}–${page.end} of ${all.length}` : '';
  const shown = { lines: all, selected, width, page, marker, empty: emptyText(view, model) };
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header model={model} view={view} notes={notes} />
      {chartRows > 0 && s.kind === 'topics' ? <OverviewChart model={model} width={width ?? 80} height={chartRows} /> : null}
      <Box flexDirection="column" flexGrow={1} overflow="hidden">
        {view.help ? (
          <Help />
        ) : view.peek !== null ? (
          <PeekScreen target={view.peek.target} lines={peeked} height={peekHeight} />
        ) : s.kind === 'topics' ? (
          <TopicsScreen {...shown} />
        ) : s.kind === 'topic' ? (
          <TopicScreen topic={s.topic} retained={model.topic(s.topic)?.retained} now={model.snapshot?.at} perNode={perNode} breakdown={breakdown} {...shown} />
        ) : s.kind === 'nodes' ? (
          <NodesScreen model={model} now={model.snapshot?.at ?? Date.now()} width={width} />
        ) : (
          <ChannelScreen topic={s.topic} channel={s.channel} series={series} chartRows={chartRows} now={model.snapshot?.at ?? Date.now()} {...shown} />
        )}
      </Box>
      {view.confirm !== null ? (
        <Text color="yellow" bold wrap="truncate-middle">
          {view.confirm.action} {describeTarget(view.confirm.target)} on {view.confirm.target.nodes.length} node(s)? (y/N)
        </Text>
      ) : view.message !== null ? (
        <Text color="cyan" wrap="truncate-middle">
          {view.message}
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          {view.peek !== null ? PEEK_HINTS : keyHints(width, where)}
        </Text>
      )}
    </Box>
  );
}

