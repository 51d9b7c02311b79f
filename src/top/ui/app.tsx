// The dashboard: wires key presses to the view reducer, snapshots to the model, and actions to nsqd.

import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { runAction } from '../actions.js';
import type { TopModel } from '../model.js';
import type { Poller } from '../poller.js';
import { describeTarget, emptyText, headerNotes, initialView, lines as linesOf, press, screen, type Target, type ActionKind, type ViewState } from '../view.js';
import { ChannelScreen } from './channel-screen.js';
import { Header } from './header.js';
import { Help } from './help.js';
import { TopicScreen } from './topic-screen.js';
import { TopicsScreen } from './topics-screen.js';
import { useSnapshots } from './use-snapshots.js';
import { useTerminalWidth } from './use-terminal-width.js';

export interface AppProps {
  model: TopModel;
  poller: Poller;
  /** how actions reach nsqd (tests may pass their own) */
  act?: (action: ActionKind, target: Target) => Promise<string>;
  /** the name filter to start with (--filter), as if typed after `/` and kept with Enter */
  filter?: string;
  /** mark the selected row with `>`: for a terminal that shows no styles (no reverse video) */
  marker?: boolean;
  /** how long an action's message stays before the key hints come back (a key press ends it sooner) */
  messageMs?: number;
}

const APP_DEFAULTS = { act: runAction, filter: '', marker: false, messageMs: 5000 } satisfies Partial<AppProps>;

export function App(props: AppProps): React.JSX.Element {
  const { model, poller, act, filter, marker, messageMs } = { ...APP_DEFAULTS, ...props };
  const { exit } = useApp();
  const [view, setView] = useState<ViewState>(() => ({ ...initialView, filter }));
  useSnapshots(poller, model, view.frozen);
  const width = useTerminalWidth();

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
  const empty = emptyText(view, model);
  return (
    <Box flexDirection="column">
      <Header model={model} view={view} notes={headerNotes(model)} />
      {view.help ? (
        <Help />
      ) : s.kind === 'topics' ? (
        <TopicsScreen lines={all} selected={selected} width={width} marker={marker} empty={empty} />
      ) : s.kind === 'topic' ? (
        <TopicScreen topic={s.topic} lines={all} selected={selected} width={width} marker={marker} empty={empty} />
      ) : (
        <ChannelScreen topic={s.topic} channel={s.channel} lines={all} selected={selected} width={width} marker={marker} empty={empty} />
      )}
      {view.confirm !== null ? (
        <Text color="yellow" bold>
          {view.confirm.action} {describeTarget(view.confirm.target)} on {view.confirm.target.nodes.length} node(s)? (y/N)
        </Text>
      ) : view.message !== null ? (
        <Text color="cyan">{view.message}</Text>
      ) : (
        <Text dimColor>↑↓ move · Enter open · / filter · s sort · p pause · e empty · d delete · space freeze · ? help · q quit</Text>
      )}
    </Box>
  );
}
