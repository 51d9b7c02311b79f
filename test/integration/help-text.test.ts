// --help answered from help/ (commands/help-text.ts): the files are what yargs renders today, the
// binary prints them with exit 0, and only a plain --help is answered from them.

import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { helpFileNames, helpFiles } from '../../commands/help-files.js';
import { helpInvocation } from '../../commands/help-text.js';
import { spawnNsq } from '../helpers/nsqd.js';

const dir = new URL('../../../help/', import.meta.url);

t.test('help/ matches what the yargs program renders (run `npm run completions` after changing flags)', async (t) => {
  // every text at the first width; at the others (the same text, wrapped wider) two of them: each
  // rendering is a process that loads yargs, and this test is most of the suite's start-up cost
  const files = await helpFiles((invocation, width) => width === 100 || invocation === 'nsq' || invocation === 'nsq-tail');
  t.same(readdirSync(dir).sort(), helpFileNames().sort(), 'one file per invocation and width, no stale ones');
  for (const [name, text] of Object.entries(files)) t.equal(readFileSync(new URL(name, dir), 'utf8'), text, `help/${name} is current`);
  // a host's own values would make the files differ from host to host
  t.match(files['nsq-serve.100.txt'], /--node-id[\s\S]*?\[default: hash of hostname\]/);
  t.match(files['nsq-lookupd.100.txt'], /--broadcast-address[\s\S]*?\[default: the host name\]/);
});

t.test('the binary prints the rendered help (output not a terminal: width 100), exit 0', async (t) => {
  const cases: [string[], string][] = [
    [['--help'], 'nsq.100.txt'],
    [['tail', '--help'], 'nsq-tail.100.txt'],
    [['serve', '-h'], 'nsq-serve.100.txt'],
  ];
  const runs = cases.map(([args]) => spawnNsq(t, args));
  for (const [i, [args, file]] of cases.entries()) {
    const r = await runs[i]!.exit;
    t.equal(r.code, 0, args.join(' '));
    t.equal(runs[i]!.stdout(), readFileSync(new URL(file, dir), 'utf8'), `${args.join(' ')}: help/${file}`);
    t.equal(runs[i]!.stderr(), '');
  }
});

t.test('which command lines are a plain --help', async (t) => {
  t.equal(helpInvocation('nsq', ['--help']), 'nsq');
  t.equal(helpInvocation('nsq', ['to-file', '-h']), 'nsq-to-file');
  t.equal(helpInvocation('nsqd', ['--help']), 'nsqd');
  t.equal(helpInvocation('nsq', ['tail', 'x', '--help']), null, 'more words: yargs');
  t.equal(helpInvocation('nsq', ['nope', '--help']), null, 'an unknown command: yargs');
  t.equal(helpInvocation('nsq', ['bench', 'pub', '--help']), null, 'a subcommand: yargs');
  t.equal(helpInvocation('nsq_tail', ['tail', '--help']), null);
});
