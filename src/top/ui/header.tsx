// The top line: nodes, totals, sort and state; beneath it a line for each node that is down or
// replicates (its health in words, so it reads without colour).

import { Box, Text } from 'ink';
import { humanize, type TopModel } from '../model.js';
import { replicationLine, type Level } from '../replication.js';
import type { ViewState } from '../view.js';

const LEVEL_COLOURS: Record<Level, string> = { ok: 'green', warn: 'yellow', bad: 'red' };

export function Header({ model, view }: { model: TopModel; view: ViewState }): React.JSX.Element {
  const t = model.totals();
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nsq top</Text>
        {'  '}
        <Text color={t.nodesDown > 0 ? 'red' : 'green'}>
          nodes {t.nodesUp} up{t.nodesDown > 0 ? `, ${t.nodesDown} down` : ''}
        </Text>
        {'  '}in <Text bold>{humanize(t.inRate)}/s</Text>
        {'  '}out <Text bold>{humanize(t.outRate)}/s</Text>
        {'  '}depth <Text bold>{humanize(t.depth)}</Text>
        {'  '}
        <Text dimColor>sort: {view.sort}</Text>
        {view.filter !== '' || view.filtering ? <Text color="cyan">{`  filter: ${view.filter}${view.filtering ? '▏' : ''}`}</Text> : null}
        {view.frozen ? <Text color="yellow"> [frozen]</Text> : null}
      </Text>
      {model.nodes.map((n) => {
        const repl = replicationLine(n.replication, n.takenOverBy);
        if (!n.up) {
          return (
            <Text key={n.address} color="red" wrap="truncate-end">
              {n.address} down: {n.error ?? 'no answer'} (retrying){repl === null ? '' : `  ·  ${repl.text}`}
            </Text>
          );
        }
        if (repl === null) return null;
        return (
          <Text key={n.address} color={LEVEL_COLOURS[repl.level]} wrap="truncate-end">
            {n.address} ({n.replication?.name ?? n.replicationName}) {repl.text}
          </Text>
        );
      })}
    </Box>
  );
}
