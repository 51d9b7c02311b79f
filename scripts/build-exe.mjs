// `npm run build:exe` (issue 20): dist/exe/nsq, one file to copy to a Linux host without Node.
//
// A Node single-executable application: every command in one CommonJS script (esbuild, packages
// included), the package's files it reads at run time (package.json, help/, the admin page) as SEA
// assets, injected into a copy of this node binary with postject. snappy's native addon cannot live
// inside the executable; it is copied beside it (dist/exe/node_modules/), where the executable's
// require finds it, and without it the executable still runs but refuses snappy (as any nsq without
// the addon). Run after `npm run build` (dist/ must hold the tsc output and the admin page).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { boundInkCaches } from '../dist/src/top/ink-caches.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = `${root}dist/exe/`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/**
 * Two packages do not fit one CommonJS script as published: yoga-layout (ink's layout engine) and
 * ink's reconciler use top-level await. yoga's WebAssembly is loaded in the background instead, and
 * nsq top waits for it before drawing (globalThis.__nsqYogaReady, src/top/run.ts); ink's awaits only
 * run with DEV=true (React devtools), which the executable leaves out.
 */
const topLevelAwait = {
  name: 'top-level-await',
  setup(build) {
    build.onResolve({ filter: /^yoga-layout$/ }, () => ({ path: 'yoga-layout', namespace: 'nsq-yoga' }));
    build.onLoad({ filter: /.*/, namespace: 'nsq-yoga' }, () => ({
      resolveDir: `${root}node_modules/yoga-layout/dist/src`,
      contents: `
        import { loadYoga } from './load.js';
        export * from './generated/YGEnums.js';
        let yoga;
        globalThis.__nsqYogaReady = loadYoga().then((y) => { yoga = y; });
        export default new Proxy({}, { get: (_, key) => yoga[key] });
      `,
    }));
    build.onLoad({ filter: /ink[\\/]build[\\/]reconciler\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8')
        .replace("await import('./devtools.js');", 'void 0;')
        .replace('? await loadPackageJson()', '? { name: undefined, version: undefined }');
      if (text.includes("await import('./devtools.js')") || text.includes('await loadPackageJson()')) throw new Error('ink changed: its reconciler still has a top-level await this script does not know');
      return { contents: text, loader: 'js' };
    });
    // ink's text caches bounded, as the npm install's loader hook does (src/top/ink-caches.ts)
    build.onLoad({ filter: /ink[\\/]build[\\/](measure|wrap)-text\.js$/ }, (args) => ({ contents: boundInkCaches(args.path, readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};

await esbuild.build({
  entryPoints: [`${root}dist/commands/main.js`],
  outfile: `${out}nsq.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // loaded from beside the executable at run time (a native addon), or never (React devtools)
  external: ['snappy', 'react-devtools-core'],
  define: { 'import.meta.url': '__bundleUrl', 'process.env.NODE_ENV': '"production"' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [topLevelAwait],
  // import() of a builtin (node:https, node:fs/promises) as a require: an executable with a code
  // cache has no dynamic import callback ("A dynamic import callback was not specified")
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
});

// the package's files read at run time, by the paths src/version.ts's readPackageFile asks for
const assets = { 'package.json': `${root}package.json` };
for (const f of readdirSync(`${root}help`)) assets[`help/${f}`] = `${root}help/${f}`;
for (const f of ['app.js', 'app.css']) assets[`dist/admin-ui/${f}`] = `${root}dist/admin-ui/${f}`;
writeFileSync(`${out}sea-config.json`, JSON.stringify({ main: `${out}nsq.cjs`, output: `${out}nsq.blob`, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: true, assets }, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', `${out}sea-config.json`], { stdio: 'inherit' });

const exe = `${out}nsq`;
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(process.execPath, [`${root}node_modules/postject/dist/cli.js`, exe, 'NODE_SEA_BLOB', `${out}nsq.blob`, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: ['ignore', 'ignore', 'inherit'] });

// snappy's addon beside it, for the platforms installed here
for (const pkg of ['snappy', ...readdirSync(`${root}node_modules/@napi-rs`).filter((p) => p.startsWith('snappy-')).map((p) => `@napi-rs/${p}`)]) {
  cpSync(`${root}node_modules/${pkg}`, `${out}node_modules/${pkg}`, { recursive: true });
}
rmSync(`${out}nsq.blob`);
rmSync(`${out}sea-config.json`);
process.stderr.write(`build:exe: wrote ${exe} and ${out}node_modules/ (snappy's addon)\n`);
