// The key reference (`?`).

import { Box, Text } from 'ink';

export const KEYS: [string, string][] = [
  ['↑/↓  j/k', 'move'],
  ['Enter', 'open a topic (its channels) or a channel (its consumers)'],
  ['Esc  Backspace', 'back'],
  ['/', 'filter by topic or channel name (Enter keeps it, Esc clears it)'],
  ['s', 'cycle sort: name, depth, in rate, out rate'],
  ['p', 'pause or unpause the selected topic or channel'],
  ['e', 'empty the selected topic or channel (asks first)'],
  ['d', 'delete the selected topic or channel (asks first)'],
  ['space', 'freeze or resume updates'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

export function Help(): React.JSX.Element {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>keys</Text>
      {KEYS.map(([k, what]) => (
        <Text key={k}>
          <Text color="cyan">{k.padEnd(16)}</Text>
          {what}
        </Text>
      ))}
      <Text dimColor>any key closes this help</Text>
    </Box>
  );
}
