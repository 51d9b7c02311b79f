// `v`: the next messages of a topic or channel, under a heading per node (src/top/peek.ts makes the lines).

import { Text } from 'ink';
import { PEEK_HEAD, type PeekLine } from '../peek.js';
import { describeTarget, type Target } from '../view.js';

export interface PeekScreenProps {
  target: Target;
  /** null: the first answer has not come yet */
  lines: PeekLine[] | null;
  /** the lines that fit; the rest are cut */
  height: number;
}

export function PeekScreen({ target, lines, height }: PeekScreenProps): React.JSX.Element {
  const shown = (lines ?? [{ kind: 'empty', text: 'peeking…' }]).slice(0, Math.max(1, height));
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{describeTarget(target)}</Text> <Text dimColor>— next messages, read-only</Text>
      </Text>
      <Text bold wrap="truncate-end">
        {PEEK_HEAD}
      </Text>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end" bold={l.kind === 'node'} color={l.kind === 'error' ? 'red' : undefined} dimColor={l.kind === 'empty'}>
          {l.text}
        </Text>
      ))}
    </>
  );
}
