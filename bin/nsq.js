#!/usr/bin/env node
// The one executable: everything lives in the compiled dist/ tree. `npm run build` also writes
// dist/bundle/main.cjs (scripts/bundle.mjs): the entry point and the daemons in one file, which
// starts faster. It is used only while it is newer than the tsc output, so a later `tsc` alone never
// runs stale code. This file is CommonJS (bin/package.json), and so is the bundle: require() is
// Node 20's quickest way in (an ES module importing CommonJS has Node lex the whole file for its
// export names first, and an ES module entry starts the asynchronous loader).
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');

const mtime = (path) => statSync(join(__dirname, path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const built = mtime('../dist/commands/main.js');
if (built > 0 && mtime('../dist/bundle/main.cjs') >= built) require('../dist/bundle/main.cjs');
else import('../dist/commands/main.js');
