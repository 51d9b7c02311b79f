// `nsq completion bash|zsh|fish`: print a completion script.

import type { CommandModule } from 'yargs';
import { usageError } from './flags/values.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

export const completion: CommandModule = {
  command: 'completion [shell]',
  describe: 'Print a shell completion script (bash, zsh or fish)',
  builder: (y) =>
    y
      .usage('nsq completion <bash|zsh|fish>\n\nPrint a completion script for nsq and the Go tool names (nsqd, nsq_tail, to_nsq, ...).')
      .positional('shell', { type: 'string', describe: 'bash, zsh or fish' })
      .example('$0 completion bash > /etc/bash_completion.d/nsq', '')
      .example('$0 completion zsh > "${fpath[1]}/_nsq"', '')
      .example('$0 completion fish > ~/.config/fish/completions/nsq.fish', ''),
  handler: async (argv) => {
    const shell = argv['shell'];
    if (shell === undefined) throw usageError('which shell? nsq completion bash, nsq completion zsh or nsq completion fish');
    if (!(SHELLS as readonly unknown[]).includes(shell)) throw usageError(`unknown shell "${String(shell)}": want bash, zsh or fish`);
    const { completionScript } = await import('./completion-scripts.js');
    process.stdout.write(completionScript(shell as (typeof SHELLS)[number]));
  },
};
