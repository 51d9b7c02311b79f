// nsq top runs for days: ink 6's text caches must not keep every string it ever drew
// (src/top/ink-caches.ts). The rewrite against the installed ink's own sources, and the dashboard
// rendered for 600 frames with and without it: the control must show the growth the fix removes.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { boundInkCaches, INK_CACHE_LIMIT, isInkCacheModule } from '../../src/top/ink-caches.js';

// ink's entry point is build/index.js
const inkBuild = dirname(fileURLToPath(import.meta.resolve('ink')));

t.test('the installed ink\'s measure-text.js and wrap-text.js get a bounded cache; nothing else is touched; a changed ink fails loudly', async (t) => {
  for (const f of ['measure-text.js', 'wrap-text.js']) {
    const path = join(inkBuild, f);
    t.ok(isInkCacheModule(path) && isInkCacheModule(`file://${path}`), `${f} is recognised, as a path and a URL`);
    const out = boundInkCaches(path, readFileSync(path, 'utf8'));
    t.match(out, String(INK_CACHE_LIMIT), `${f}: the limit is in the source`);
  }
  const other = join(inkBuild, 'output.js');
  const src = readFileSync(other, 'utf8');
  t.equal(boundInkCaches(other, src), src, 'another ink module is left as it is');
  t.throws(() => boundInkCaches(join(inkBuild, 'measure-text.js'), 'export default () => 0;'), /ink changed: .*measure-text\.js no longer has `cache\.set\(text, dimensions\);`/);
});

t.test('300 frames of changing numbers at 160x48: the heap stays flat with the caches bounded, and grows without (control)', async (t) => {
  const child = fileURLToPath(new URL('./ink-leak-child.js', import.meta.url));
  const run = (mode: string): { frames: number; grewBytes: number } => JSON.parse(execFileSync(process.execPath, ['--expose-gc', child, mode], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'ignore'] })) as { frames: number; grewBytes: number };
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const control = run('none');
  t.ok(control.grewBytes > 1.5e6, `control, ink as installed: the heap grew ${mb(control.grewBytes)} over ${control.frames} frames`);
  const bundle = run('bundle');
  t.ok(bundle.grewBytes < 0.5e6, `dist/bundle/top-ui.mjs, what nsq top loads: ${mb(bundle.grewBytes)} over ${bundle.frames} frames`);
  const hook = run('hook');
  t.ok(hook.grewBytes < 0.5e6, `ink from node_modules through the module hook (no bundle): ${mb(hook.grewBytes)} over ${hook.frames} frames`);
});
