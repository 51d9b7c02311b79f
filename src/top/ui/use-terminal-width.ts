// The terminal's width, updated on resize.

import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export function useTerminalWidth(): number {
  const { stdout } = useStdout();
  const [width, setWidth] = useState(stdout.columns || 100);
  useEffect(() => {
    const onResize = (): void => setWidth(stdout.columns || 100);
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return width;
}
