// The dashboard: wires key presses to the view reducer, snapshots to the model, and actions to nsqd.

import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useRef, useState } from 'react';
import { runAction } from '../actions.js';
import type { TopModel } from '../model.js';
import type { Poller } from '../poller.js';
import { describeTarget, headerNotes, initialView, lines as linesOf, press, screen, type Target, type ActionKind, type ViewState } from '../view.js';
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
}

export function App({ model, poller, act = runAction }: AppProps): React.JSX.Element {
  const { exit } = useApp();
  const [view, setView] = useState<ViewState>(initialView);
  useSnapshots(poller, model, view.frozen);
  const width = useTerminalWidth();

  const current = useRef(view);
  current.current = view;

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
        current.current = { ...next, message: `${effect.action} ${describeTarget(effect.target)}…` };
        setView(current.current);
        void act(effect.action, effect.target).then((message) => {
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

  const all = linesOf(view, model);
  const selected = Math.min(view.cursor, Math.max(0, all.length - 1));
  const s = screen(view);
  return (
    <Box flexDirection="column">
      <Header model={model} view={view} notes={headerNotes(model)} />
      {view.help ? (
        <Help />
      ) : s.kind === 'topics' ? (
        <TopicsScreen lines={all} selected={selected} width={width} />
      ) : s.kind === 'topic' ? (
        <TopicScreen topic={s.topic} lines={all} selected={selected} width={width} />
      ) : (
        <ChannelScreen topic={s.topic} channel={s.channel} lines={all} selected={selected} width={width} />
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
