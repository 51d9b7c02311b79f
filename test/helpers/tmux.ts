// Test helpers: a program in a real terminal (a tmux server of the test's own), and waiting for
// what its screen shows.

import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';

export interface Tmux {
  (...args: string[]): string;
  /** Waits until the session's screen shows `text` (or passes the check); returns the screen. */
  screenWith(session: string, text: string | RegExp | ((screen: string) => boolean), timeoutMs?: number, capture?: string[]): Promise<string>;
  alive(session: string): boolean;
}

/** A tmux server on its own socket, killed when the test ends. */
export function tmuxServer(t: Test, name = `nsq-test-${process.pid}`): Tmux {
  const tmux = ((...args: string[]): string => execFileSync('tmux', ['-L', name, ...args], { encoding: 'utf8' })) as Tmux;
  tmux.screenWith = async (session, text, timeoutMs = 8000, capture = []) => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        last = tmux('capture-pane', '-t', session, '-p', ...capture);
      } catch {
        last = '(no pane)';
      }
      if (typeof text === 'string' ? last.includes(text) : typeof text === 'function' ? text(last) : text.test(last)) return last;
      if (Date.now() > deadline) throw new Error(`screen never showed ${String(text)}:\n${last}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  tmux.alive = (session) => {
    try {
      tmux('has-session', '-t', session);
      return true;
    } catch {
      return false;
    }
  };
  t.teardown(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  });
  return tmux;
}
