// Run by `npm test` after tap fails: prints every failed assertion with its
// diagnostics, file by file, at the end of the output. CI keeps only the
// tail of a long run, and the tail is where the failures must be.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = '.tap/test-results';
const files = [];
const walk = (dir) => {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.tap')) files.push(p);
  }
};
walk(root);

const MAX_LINES = 60;
let failed = 0;
console.log('\n# ---- failures ----');
for (const file of files.sort()) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok /.exec(lines[i]);
    if (!m) continue;
    failed++;
    const indent = m[1].length;
    const out = [lines[i]];
    // The YAML block (and any subtest output) indented deeper than the line.
    for (let j = i + 1; j < lines.length && out.length < MAX_LINES; j++) {
      const l = lines[j];
      if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
      out.push(l);
    }
    console.log(`# ${file.slice(root.length + 1, -4)}`);
    console.log(out.join('\n'));
  }
}
if (failed === 0) console.log('# tap failed without a failed assertion on record (a file crashed or timed out?)');
process.exit(1);
