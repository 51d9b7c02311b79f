// `npm run completions`: writes completions/ from the command definitions.

import { writeFileSync } from 'node:fs';
import { completionFiles } from './completion-scripts.js';

const dir = new URL('../../completions/', import.meta.url);
for (const [name, text] of Object.entries(completionFiles())) writeFileSync(new URL(name, dir), text);
process.stdout.write(`wrote ${Object.keys(completionFiles()).join(', ')} to completions/\n`);
