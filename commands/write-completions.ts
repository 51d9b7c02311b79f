// `npm run completions`: writes completions/ and the README's flag tables from the command definitions.

import { readFileSync, writeFileSync } from 'node:fs';
import { completionFiles } from './completion-scripts.js';
import { withGeneratedSections } from './reference.js';

const dir = new URL('../../completions/', import.meta.url);
for (const [name, text] of Object.entries(completionFiles())) writeFileSync(new URL(name, dir), text);
process.stdout.write(`wrote ${Object.keys(completionFiles()).join(', ')} to completions/\n`);
const readme = new URL('../../README.md', import.meta.url);
writeFileSync(readme, withGeneratedSections(readFileSync(readme, 'utf8')));
process.stdout.write('wrote the flag tables in README.md\n');
