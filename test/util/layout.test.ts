// The command line is one layer: src/ never reads argv, imports yargs or commands/, or throws the
// command line's E_BAD_FLAG (commands/flags/ does). Checked on the sources, so a change that breaks
// the rule fails here rather than in review.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';

const ROOT = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(name) ? [p] : [];
  });
}

t.test('nothing in src/ reads argv, imports yargs or commands/, or throws E_BAD_FLAG', async (t) => {
  const offences: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const code = text.replace(/^\s*(\/\/.*|\*.*|\/\*.*)$/gm, '');
    const where = relative(ROOT, file);
    if (/from '(yargs|yargs\/[^']*)'/.test(code)) offences.push(`${where}: imports yargs`);
    if (/from '[^']*\/commands\/[^']*'/.test(code)) offences.push(`${where}: imports commands/`);
    if (/process\.argv/.test(code)) offences.push(`${where}: reads process.argv`);
    if (/'E_BAD_FLAG'/.test(code)) offences.push(`${where}: throws E_BAD_FLAG`);
  }
  t.same(offences, []);
  t.ok(sources(join(ROOT, 'src')).length > 50, 'the sources were found');
});
