// The top line: nodes, totals, sort and state.

import { Box, Text } from 'ink';
import { humanize, type TopModel } from '../model.js';
import type { ViewState } from '../view.js';

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
      {model.nodes
        .filter((n) => !n.up)
        .map((n) => (
          <Text key={n.address} color="red">
            {n.address} down: {n.error ?? 'no answer'} (retrying)
          </Text>
        ))}
    </Box>
  );
}
