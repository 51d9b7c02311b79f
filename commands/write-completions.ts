// `npm run completions`: writes completions/, the README's flag tables and help/ from the command definitions.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { completionFiles } from './completion-scripts.js';
import { withGeneratedSections } from './reference.js';
import { helpFiles } from './help-files.js';

const dir = new URL('../../completions/', import.meta.url);
for (const [name, text] of Object.entries(completionFiles())) writeFileSync(new URL(name, dir), text);
process.stdout.write(`wrote ${Object.keys(completionFiles()).join(', ')} to completions/\n`);
const readme = new URL('../../README.md', import.meta.url);
writeFileSync(readme, withGeneratedSections(readFileSync(readme, 'utf8')));
process.stdout.write('wrote the flag tables in README.md\n');
const helpDir = new URL('../../help/', import.meta.url);
mkdirSync(helpDir, { recursive: true });
const help = await helpFiles();
for (const f of readdirSync(helpDir)) if (!(f in help)) rmSync(new URL(f, helpDir));
for (const [name, text] of Object.entries(help)) writeFileSync(new URL(name, helpDir), text);
process.stdout.write(`wrote ${Object.keys(help).length} help texts to help/\n`);
