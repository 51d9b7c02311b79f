// The terminal's size, updated on resize. Without a terminal (a test's fake stdout) rows is
// undefined and the frame takes the height of its content.

import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export interface TerminalSize {
  columns: number;
  rows: number | undefined;
}

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const measure = (): TerminalSize => ({ columns: stdout.columns || 100, rows: stdout.isTTY && stdout.rows > 0 ? stdout.rows : undefined });
  const [size, setSize] = useState(measure);
  useEffect(() => {
    const onResize = (): void => setSize(measure());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
