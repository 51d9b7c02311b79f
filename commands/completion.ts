// `nsq completion bash|zsh|fish`: print a completion script.

import type { CommandModule } from 'yargs';

export const completion: CommandModule = {
  command: 'completion <shell>',
  describe: 'print a shell completion script (bash, zsh or fish)',
  builder: (y) =>
    y
      .positional('shell', { choices: ['bash', 'zsh', 'fish'], describe: 'the shell' })
      .example('$0 completion bash > /etc/bash_completion.d/nsq', '')
      .example('$0 completion zsh > "${fpath[1]}/_nsq"', '')
      .example('$0 completion fish > ~/.config/fish/completions/nsq.fish', ''),
  handler: async (argv) => {
    const { completionScript } = await import('./completion-scripts.js');
    process.stdout.write(completionScript(argv['shell'] as 'bash' | 'zsh' | 'fish'));
  },
};
