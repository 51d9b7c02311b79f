// The start-up bundle (issue 15): dist/commands/main.js and everything of ours it imports, in a
// few files under dist/bundle/ instead of ~65 modules, so `nsq serve` resolves and reads fewer
// files before it listens. Packages stay external (yargs, ink, react, undici load from
// node_modules, as before, and only when a command asks for them); --splitting keeps each
// dynamic import() lazy, which is what keeps ink and yargs off the serve path.
//
// bin/nsq.js runs the bundle only when it is newer than dist/commands/main.js, so a `tsc` alone
// (without this step) never leaves a stale bundle running: it falls back to dist/commands/.
// dist/bundle/ sits at the same depth as dist/commands/, so paths computed from import.meta.url
// (../../package.json, ../../help/) stay true.
import { rmSync } from 'node:fs';

const out = new URL('../dist/bundle/', import.meta.url);
rmSync(out, { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed (npm ci installs it); nsq runs unbundled from dist/commands/\n');
  process.exit(0);
}
await esbuild.build({
  entryPoints: [new URL('../dist/commands/main.js', import.meta.url).pathname],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: out.pathname,
  logLevel: 'warning',
});
