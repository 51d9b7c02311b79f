// The start-up bundle (issue 15): the entry point (dist/commands/main.js) and everything of ours it
// loads for --version, the prerendered --help, and the daemons (`nsq serve`, `nsq lookupd`), in one
// CommonJS file, dist/bundle/main.cjs. Node 20 loads one CommonJS file with synchronous require()s
// much faster than ~65 ES modules through its asynchronous ESM loader, and esbuild's CommonJS output
// keeps every module we import lazily lazy (each module is a function run on first use, and its
// node: builtins are required there), so node:tls, node:zlib, node:dgram still load only when a
// flag needs them.
//
// What is not bundled: packages (yargs, ink, react, undici load from node_modules when a command
// asks for them; ink cannot be require()d), and ./program.js, the yargs program behind every other
// command line, which stays an ES module import of the tsc output (dist/commands/program.js), as
// before. dist/bundle/ sits at the same depth as dist/commands/, so paths made from
// import.meta.url (../../package.json, ../../help/) and the ../commands/program.js import hold.
//
// bin/nsq.js runs the bundle only when it is newer than dist/commands/main.js, so a `tsc` alone
// (without this step) never leaves a stale bundle running: it falls back to dist/commands/.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
rmSync(`${dist}bundle`, { recursive: true, force: true });
rmSync(`${dist}admin-ui`, { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle: esbuild is not installed (npm ci installs it); nsq runs unbundled from dist/commands/\n');
  process.exit(0);
}

/** `import('./program.js')` in main.js stays an import of the tsc output. */
const programUnbundled = {
  name: 'program-unbundled',
  setup(build) {
    build.onResolve({ filter: /^\.\/program\.js$/ }, (args) =>
      args.importer === `${dist}commands/main.js` ? { path: '../commands/program.js', external: true } : undefined,
    );
  },
};

await esbuild.build({
  entryPoints: [`${dist}commands/main.js`],
  outfile: `${dist}bundle/main.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // CommonJS has no import.meta: the bundle's own URL stands in (same depth as dist/commands/)
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [programUnbundled],
  logLevel: 'warning',
});
// Node keeps the bundle's source in memory, and one non-ASCII character makes it two bytes a
// character (1.2 MB instead of 0.6 at idle): each one becomes a \uXXXX escape of its UTF-16 unit,
// which means the same character in a string, a regular expression (with or without the u flag) and
// an identifier, and is plain text in a comment
const bundled = `${dist}bundle/main.cjs`;
writeFileSync(bundled, readFileSync(bundled, 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

// nsq top's screen (src/top/ui/entry.ts): ink, React and the dashboard's components in one ES module,
// loaded by src/top/run.ts. Built here rather than loaded from node_modules because ink 6 keeps
// every string it measured or wrapped for the life of the process (vadimdemedes/ink#986): its two
// caches are bounded as the modules are bundled (src/top/ink-caches.ts). ESM, as yoga-layout (ink's
// layout engine) and ink's reconciler await at their top level; React's production build only.
const { boundInkCaches } = await import(`${dist}src/top/ink-caches.js`);
await esbuild.build({
  entryPoints: [`${dist}src/top/ui/entry.js`],
  outfile: `${dist}bundle/top-ui.mjs`,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  define: { 'process.env.NODE_ENV': '"production"' },
  // CommonJS packages in the bundle (React) require() Node's modules: an ES module has no require of its own
  banner: { js: "import { createRequire as __nsqCreateRequire } from 'node:module'; const require = __nsqCreateRequire(import.meta.url);" },
  plugins: [
    {
      name: 'ink-caches',
      setup(build) {
        // ink connects to React's devtools only with DEV=true, and they are not installed: a stub
        // stands in, so the bundle does not import a package that is not there
        build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'nsq-stub' }));
        build.onLoad({ filter: /.*/, namespace: 'nsq-stub' }, () => ({ contents: "export default { initialize() {}, connectToDevTools() { throw new Error('React devtools are not part of nsq'); } };", loader: 'js' }));
        build.onLoad({ filter: /ink[\\/]build[\\/](measure|wrap)-text\.js$/ }, (args) => ({ contents: boundInkCaches(args.path, readFileSync(args.path, 'utf8')), loader: 'js' }));
      },
    },
  ],
  logLevel: 'warning',
});

// nsq admin's page (docs/admin.md): React DOM and the page's code in one browser script, served by
// src/admin/server.ts from dist/admin-ui/; nothing from a CDN. Type-checked by
// `tsc -p src/admin/ui` (npm run build), as esbuild only strips types.
const ui = fileURLToPath(new URL('../src/admin/ui/', import.meta.url));
await esbuild.build({
  entryPoints: [`${ui}main.tsx`],
  outfile: `${dist}admin-ui/app.js`,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
mkdirSync(`${dist}admin-ui`, { recursive: true });
copyFileSync(`${ui}app.css`, `${dist}admin-ui/app.css`);
