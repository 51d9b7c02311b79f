// `nsq top`: the live dashboard on a terminal, or --once / --plain output for scripts and pipes.

import { UserError } from '../util/errors.js';
import { statSync } from 'node:fs';
import { isSingleExecutable, PACKAGE_ROOT } from '../version.js';
import { boundInkCachesOnLoad } from './ink-caches.js';
import { TopModel } from './model.js';
import { onceTable, plainHeader, plainRow } from './plain.js';
import { Poller } from './poller.js';
import type { ActionKind, Target } from './view.js';

export interface TopOptions {
  nsqdHttpAddresses: string[];
  lookupdHttpAddresses: string[];
  intervalMs: number;
  /** --history: how far back the overview charts keep samples */
  historyMs?: number;
  timeoutMs: number;
  once: boolean;
  plain: boolean;
  topic?: string;
  channel?: string;
  /** --plain: stop after this many rows (0: run until interrupted) */
  count: number;
  filter: string;
  /** bearer of the actions' requests (nodes started with --auth-http-api); '' : none */
  authSecret: string;
}

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runTop(o: TopOptions): Promise<void> {
  if (o.plain) return runPlain(o);
  if (o.once || !process.stdout.isTTY || !process.stdin.isTTY) return runOnce(o);
  // one sample a poll, at least 2 (a line needs two points), at most 100,000 (a ring of 800 KB)
  const samples = Math.max(2, Math.min(100_000, Math.ceil((o.historyMs ?? 600_000) / o.intervalMs)));
  const model = new TopModel(60, samples);
  const poller = new Poller(o.nsqdHttpAddresses, o.intervalMs, o.timeoutMs, o.lookupdHttpAddresses);
  // ink renders only a final frame when it thinks it runs in CI; here a person is at a terminal
  for (const key of Object.keys(process.env)) if (key === 'CI' || key === 'CONTINUOUS_INTEGRATION' || key.startsWith('CI_')) delete process.env[key];
  // ink and react load only here: every other command starts without them
  const [{ render, createElement, App, chalk }, { runAction }, { peekTarget }] = await Promise.all([loadUi(), import('./actions.js'), import('./peek.js')]);
  // the single executable loads ink's layout engine (yoga, WebAssembly) in the background, where the
  // npm install's ES modules wait for it at import (scripts/build-exe.mjs): wait for it before drawing
  await (globalThis as { __nsqYogaReady?: Promise<void> }).__nsqYogaReady;
  const act = (action: ActionKind, target: Target): Promise<string> => runAction(action, target, { authSecret: o.authSecret });
  const peek = (target: Target, n: number) => peekTarget(target, n, { authSecret: o.authSecret, timeoutMs: o.timeoutMs });
  // the screen of its own, as top and less have: what was on the terminal is back after q, and a
  // resize redraws a screen that holds only the dashboard (an inline frame leaves copies of itself
  // in the scrollback when the terminal rewraps it)
  const leave = (): void => void process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  process.once('exit', leave);
  // a signal ends it as q does, so the terminal gets its screen back ('exit' does not run on a signal's death)
  const SIGNALS = { SIGTERM: 15, SIGHUP: 1 } as const;
  let quit = (): void => {};
  const onSignal = (signal: keyof typeof SIGNALS): void => {
    process.exitCode = 128 + SIGNALS[signal];
    quit();
  };
  for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.on(sig, onSignal);
  try {
    // ink draws styles through chalk: at level 0 (NO_COLOR, --no-color, a dumb terminal) there is no reverse video
    const app = render(createElement(App, { model, poller, act, peek, filter: o.filter, marker: chalk.level === 0 }), { exitOnCtrlC: false });
    quit = () => app.unmount();
    poller.start();
    await app.waitUntilExit();
  } finally {
    poller.stop();
    for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.off(sig, onSignal);
    process.off('exit', leave);
    leave();
  }
}

/**
 * ink, React and the dashboard's components: from dist/bundle/top-ui.mjs (scripts/bundle.mjs) while
 * it is newer than the tsc output, else from node_modules with a module hook that bounds ink's text
 * caches as the bundle has them (ink-caches.ts); the single executable has them in itself, bounded.
 * React's production build either way: its development build checks every element it makes and
 * costs the dashboard a third more CPU (bench case top); a NODE_ENV the user set still wins.
 */
async function loadUi(): Promise<typeof import('./ui/entry.js')> {
  process.env['NODE_ENV'] ??= 'production';
  if (isSingleExecutable()) return import('./ui/entry.js');
  const bundle = new URL('dist/bundle/top-ui.mjs', PACKAGE_ROOT);
  const mtime = (u: URL): number => statSync(u, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime(bundle) >= mtime(new URL('dist/src/top/ui/entry.js', PACKAGE_ROOT))) return (await import(bundle.href)) as typeof import('./ui/entry.js');
  boundInkCachesOnLoad();
  return import('./ui/entry.js');
}

/** Two polls `interval` apart (so rates mean something), then one table. */
async function runOnce(o: TopOptions): Promise<void> {
  const model = new TopModel();
  const poller = new Poller(o.nsqdHttpAddresses, o.intervalMs, o.timeoutMs, o.lookupdHttpAddresses);
  const first = await poller.pollOnce();
  model.update(first);
  if (!first.nodes.some((n) => n.ok)) {
    const why = [...first.nodes.map((n) => `${n.address}: ${n.error}`), ...(first.lookupds ?? []).filter((l) => !l.ok).map((l) => `lookupd ${l.address}: ${l.error}`)];
    throw new UserError(`no nsqd answered: ${why.length === 0 ? 'none registered with lookupd' : why.join('; ')}`, 'E_UNREACHABLE', 1);
  }
  await sleep(Math.min(o.intervalMs, 1000));
  const second = await poller.pollOnce();
  model.update(second);
  process.stdout.write(onceTable(model, second, o.filter));
}

/** nsq_stat: a row per interval for one topic/channel, header every 25 rows. */
async function runPlain(o: TopOptions): Promise<void> {
  if (o.topic === undefined || o.channel === undefined) throw new UserError('--plain needs --topic and --channel', 'E_USAGE', 2);
  const model = new TopModel();
  const poller = new Poller(o.nsqdHttpAddresses, o.intervalMs, o.timeoutMs, o.lookupdHttpAddresses);
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let printed = 0;
    for (let i = 0; !stop; i++) {
      const s = await poller.pollOnce();
      model.update(s);
      if (!s.nodes.some((n) => n.ok)) {
        const why = [...s.nodes.map((n) => `${n.address}: ${n.error}`), ...(s.lookupds ?? []).filter((l) => !l.ok).map((l) => `lookupd ${l.address}: ${l.error}`)];
        throw new UserError(`failed to get nsqd stats - ${why.length === 0 ? 'no nsqd registered with lookupd' : why.join('; ')}`, 'E_UNREACHABLE', 1);
      }
      if (plainRow(model, o.topic, o.channel) === null) {
        throw new UserError(`failed to find channel(${o.channel}) in stats metadata for topic(${o.topic})`, 'E_NOT_FOUND', 1);
      }
      if (i % 25 === 0) process.stdout.write(plainHeader());
      if (i > 0) {
        process.stdout.write(plainRow(model, o.topic, o.channel)!);
        printed++;
        if (o.count > 0 && printed >= o.count) break;
      }
      const until = Date.now() + o.intervalMs;
      while (!stop && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
