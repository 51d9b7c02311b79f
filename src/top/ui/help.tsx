// The key reference (`?`). Every line fits a 60-column terminal, and none wraps in a narrower one.

import { Box, Text } from 'ink';

const KEY_WIDTH = 16;

/** [keys, what they do]: with the key column, a description fits 60 columns less the box (4). */
export const KEYS: [string, string][] = [
  ['↑/↓  j/k', 'move'],
  ['Enter', 'open a topic, then a channel'],
  ['Esc  Backspace', 'back'],
  ['/', 'filter by name (Enter keeps, Esc clears)'],
  ['s', 'sort: name, depth, in rate, out rate'],
  ['p', 'pause or unpause the selected row'],
  ['e', 'empty the selected row (asks first)'],
  ['d', 'delete the selected row (asks first)'],
  ['v', 'next messages of the selected row'],
  ['n', 'nodes and lookupds'],
  ['space', 'freeze or resume updates'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

export function Help(): React.JSX.Element {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>keys</Text>
      {KEYS.map(([k, what]) => (
        <Text key={k} wrap="truncate-end">
          <Text color="cyan">{k.padEnd(KEY_WIDTH)}</Text>
          {what}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        any key closes this help
      </Text>
    </Box>
  );
}
