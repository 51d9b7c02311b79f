// Child of ink-caches.test.ts: ink draws a 160x48 screen of lines that change at every frame, as
// the dashboard's do, to a terminal that discards what it is sent, for FRAMES frames; prints the
// heap growth between frame WARM and the end (each after a GC) as JSON. The first argument: `bundle`
// draws with dist/bundle/top-ui.mjs (what nsq top loads), `hook` with ink from node_modules through
// the module hook (nsq top's fallback), `none` with ink as installed (the control).

import { PassThrough, Writable } from 'node:stream';

const WARM = 50;
const FRAMES = 350;
const ROWS = 46;
const mode = process.argv[2];
process.env['NODE_ENV'] = 'production';
if (mode === 'hook') (await import('../../src/top/ink-caches.js')).boundInkCachesOnLoad();
const gc = (globalThis as { gc?: () => void }).gc!;
type Ui = Pick<typeof import('../../src/top/ui/entry.js'), 'render' | 'createElement' | 'Box' | 'Text'>;
const { render, createElement, Box, Text }: Ui = mode === 'bundle' ? ((await import(new URL('../../../dist/bundle/top-ui.mjs', import.meta.url).href)) as Ui) : { ...(await import('ink')), ...(await import('react')) };

const out = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { columns: 160, rows: 48, isTTY: true });
const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {}, ref: () => {}, unref: () => {} });
/** a screen of rows whose numbers differ at every frame, like the dashboard's table */
const screen = (frame: number) =>
  createElement(
    Box,
    { flexDirection: 'column' },
    ...Array.from({ length: ROWS }, (_, r) => createElement(Text, { key: r, wrap: 'truncate-end' }, `topic_${r}`.padEnd(28) + [frame * 31 + r, frame * 17, r * frame, frame % 97, frame * 7 + r * 3].map((n) => String(n).padStart(9)).join(' ') + ' '.repeat(40) + `${frame}:${r}`)),
  );
const app = render(screen(0), { stdout: out as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, patchConsole: false, exitOnCtrlC: false });
const heap: number[] = [];
for (let frame = 1; frame <= FRAMES; frame++) {
  app.rerender(screen(frame));
  await new Promise((r) => setTimeout(r, 0));
  if (frame === WARM || frame === FRAMES) {
    gc();
    heap.push(process.memoryUsage().heapUsed);
  }
}
app.unmount();
process.stdout.write(`${JSON.stringify({ frames: FRAMES - WARM, grewBytes: heap[1]! - heap[0]! })}\n`);
process.exit(0);
