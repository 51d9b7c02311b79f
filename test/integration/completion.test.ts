// Completion scripts: generated from the flag definitions, committed in sync, and working in bash.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { completionFiles } from '../../commands/completion-scripts.js';
import { withGeneratedSections } from '../../commands/reference.js';
import { spawnNsq } from '../helpers/nsqd.js';

const dir = new URL('../../../completions/', import.meta.url);

t.test('completions/ matches the command definitions (run `npm run completions` after changing flags)', async (t) => {
  for (const [name, text] of Object.entries(completionFiles())) {
    t.equal(readFileSync(new URL(name, dir), 'utf8'), text, `completions/${name} is current`);
  }
});

t.test("the README's flag tables match the flag definitions (run `npm run completions` after changing flags)", async (t) => {
  const readme = readFileSync(new URL('../README.md', dir), 'utf8');
  t.equal(readme, withGeneratedSections(readme), 'README.md tables are current');
  // the table is the one users read: every serve flag is in it
  for (const f of ['--tcp-address', '--mem-queue-size', '--durable', '--replica-address', '--with-lookupd', '--tombstone-lifetime']) t.match(readme, `| \`${f}\` |`);
});

t.test('nsq completion <shell> prints the same scripts', async (t) => {
  for (const [shell, file] of [['bash', 'nsq.bash'], ['zsh', '_nsq'], ['fish', 'nsq.fish']] as const) {
    const p = spawnNsq(t, ['completion', shell]);
    t.equal((await p.exit).code, 0);
    t.equal(p.stdout(), readFileSync(new URL(file, dir), 'utf8'), `${shell} script`);
  }
  const bad = spawnNsq(t, ['completion', 'tcsh']);
  t.equal((await bad.exit).code, 2);
  t.equal(bad.stderr(), 'nsq: unknown shell "tcsh": want bash, zsh or fish\n');
  const none = spawnNsq(t, ['completion']);
  t.equal((await none.exit).code, 2, 'no shell: a usage error');
  t.equal(none.stdout(), '', 'nothing a shell would source');
  t.match(none.stderr(), /^nsq: which shell\? .*bash.*zsh.*fish/);
});

t.test('bash completes commands and flags', async (t) => {
  const script = new URL('nsq.bash', dir).pathname;
  const complete = (words: string[]): string[] =>
    execFileSync('bash', ['-c', `source "${script}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _nsq; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  t.same(complete(['nsq', 'se']), ['serve']);
  t.same(complete(['nsq', 'serve', '--tcp']), ['--tcp-address']);
  t.ok(complete(['nsq', 'serve', '--max-']).includes('--max-msg-size'));
  t.same(complete(['nsq', 'top', '--pl']), ['--plain']);
  t.same(complete(['nsq', 'l']), ['lookupd', 'ls']);
  t.same(complete(['nsq', 'ls', '--js']), ['--json']);
  t.same(complete(['nsq', 'channel', '--ye']), ['--yes']);
  t.same(complete(['nsq', 'completion', 'z']), ['zsh']);
  // subcommands, and the flags of the subcommand given
  t.same(complete(['nsq', 'bench', 'p']), ['pub']);
  t.same(complete(['nsq', 'bench', 'pub', '--si']), ['--size']);
  t.same(complete(['nsq', 'bench', 'sub', '--si']), [], 'bench sub has no --size');
  t.same(complete(['nsq', 'bench', '--cons']), ['--consumers'], 'the combined bench has both sides\' flags');
  t.same(complete(['nsq', 'bench', 'pub', '--cons']), [], 'which bench pub does not inherit');
  t.same(complete(['nsq', 'tail', '--exit']), ['--exit-at-end']);
  // values of flags that take one of a fixed set
  t.same(complete(['nsq', 'serve', '--log-level', '']), ['debug', 'info', 'warn', 'error', 'fatal']);
  t.same(complete(['nsq', 'tail', '--format', 'j']), ['json']);
  t.same(complete(['nsq', 'serve', '--tls-min-version', 'tls1.']).sort(), ['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3']);
  // the Go tool names complete their command's flags from the first word on
  t.same(complete(['nsqd', '--mem-q']), ['--mem-queue-size']);
  t.same(complete(['nsq_tail', '--print-t']), ['--print-topic']);
  t.same(complete(['to_nsq', '--deli']), ['--delimiter']);
  t.same(complete(['/usr/local/bin/nsqlookupd', '--tombstone']), ['--tombstone-lifetime']);
  const registered = execFileSync('bash', ['-c', `source "${script}"; complete -p`], { encoding: 'utf8' });
  for (const name of ['nsq', 'nsqd', 'nsqlookupd', 'to_nsq', 'nsq_tail', 'nsq_to_file', 'nsq_stat']) t.match(registered, new RegExp(`_nsq .*\\b${name}\\b`), `registered for ${name}`);
});

t.test('zsh and fish scripts name every serve flag', async (t) => {
  const zsh = readFileSync(new URL('_nsq', dir), 'utf8');
  const fish = readFileSync(new URL('nsq.fish', dir), 'utf8');
  for (const f of ['tcp-address', 'mem-queue-size', 'max-rdy-count']) {
    t.match(zsh, `'--${f}[`);
    t.match(fish, `-l ${f} `);
  }
  t.match(zsh, /^#compdef nsq/);
});
