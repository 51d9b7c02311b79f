// Test helpers: a program in a real terminal (a tmux server of the test's own), and waiting for
// what its screen shows.

import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { BIN } from './nsqd.js';

/**
 * The shell command that runs the compiled `nsq` with `args` in a session, in the environment a
 * person has: without the colour switches tap sets for its children (NO_COLOR=1, FORCE_COLOR=0)
 * unless `env` sets them, and without tap's NODE_OPTIONS hook (it costs each start most of a second
 * on a loaded machine).
 */
export function nsqCommand(args: string[], env: Record<string, string> = {}): string {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const set = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  return ['env', '-u', 'NO_COLOR', '-u', 'FORCE_COLOR', '-u', 'NODE_OPTIONS', ...set, quote(process.execPath), quote(BIN), ...args.map(quote)].join(' ');
}

export interface Tmux {
  (...args: string[]): string;
  /** Waits until the session's screen shows `text` (or passes the check); returns the screen. */
  screenWith(session: string, text: string | RegExp | ((screen: string) => boolean), timeoutMs?: number, capture?: string[]): Promise<string>;
  alive(session: string): boolean;
}

let servers = 0;

/**
 * A tmux server on its own socket, killed when the test ends. Each call gets a new socket: a
 * session started on the socket of a server still shutting down (the previous test's) fails with
 * "server exited unexpectedly".
 */
export function tmuxServer(t: Test, name = `nsq-test-${process.pid}-${++servers}`): Tmux {
  const tmux = ((...args: string[]): string => execFileSync('tmux', ['-L', name, ...args], { encoding: 'utf8' })) as Tmux;
  tmux.screenWith = async (session, text, timeoutMs = 15_000, capture = []) => {
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
