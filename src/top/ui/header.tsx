// The top line: nodes, totals, sort and state; beneath it the notes (view.ts): a line for each
// node that is down or replicates and each lookupd that does not answer.

import { Box, Text } from 'ink';
import { humanize, type TopModel } from '../model.js';
import type { Level } from '../replication.js';
import type { Note, ViewState } from '../view.js';

const LEVEL_COLOURS: Record<Level, string> = { ok: 'green', warn: 'yellow', bad: 'red' };

export function Header({ model, view, notes }: { model: TopModel; view: ViewState; notes: Note[] }): React.JSX.Element {
  const t = model.totals();
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>nsq top</Text>
        {'  '}
        <Text color={t.nodesDown > 0 ? 'red' : 'green'}>
          nodes {t.nodesUp} up{t.nodesDown > 0 ? `, ${t.nodesDown} down` : ''}
        </Text>
        {'  '}in <Text bold>{humanize(t.inRate)}/s</Text>
        {'  '}out <Text bold>{humanize(t.outRate)}/s</Text>
        {'  '}depth <Text bold>{humanize(t.depth)}</Text>
        {/* the filter and [frozen] before the sort: a narrow terminal cuts the end of this line */}
        {view.filter !== '' || view.filtering ? <Text color="cyan">{`  filter: ${view.filter}${view.filtering ? '▏' : ''}`}</Text> : null}
        {view.frozen ? <Text color="yellow">{'  [frozen]'}</Text> : null}
        {'  '}
        <Text dimColor>sort: {view.sort}</Text>
      </Text>
      {notes.map((n) => (
        <Text key={n.key} color={LEVEL_COLOURS[n.level]} wrap="truncate-end">
          {n.text}
        </Text>
      ))}
    </Box>
  );
}
