#!/usr/bin/env node
// The one executable: everything lives in the compiled dist/ tree.
import '../dist/commands/main.js';
