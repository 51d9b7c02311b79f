#!/usr/bin/env node
// The one executable: everything lives in the compiled dist/ tree. `npm run build` also writes
// dist/bundle/ (scripts/bundle.mjs), the same program in fewer files, which starts faster; it is
// used only while it is newer than the tsc output, so a later `tsc` alone never runs stale code.
import { statSync } from 'node:fs';

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = mtime('../dist/bundle/main.js') >= mtime('../dist/commands/main.js') && mtime('../dist/commands/main.js') > 0;
await import(bundled ? '../dist/bundle/main.js' : '../dist/commands/main.js');
