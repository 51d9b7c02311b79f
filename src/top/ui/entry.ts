// What `nsq top` needs from ink and React, in one module: `npm run build` bundles it, ink and React
// included, into dist/bundle/top-ui.mjs with ink's text caches bounded (scripts/bundle.mjs,
// src/top/ink-caches.ts), which src/top/run.ts loads; this module unbundled is the fallback.

export { Box, render, Text } from 'ink';
export { createElement } from 'react';
export { default as chalk } from 'chalk';
export { App } from './app.js';
