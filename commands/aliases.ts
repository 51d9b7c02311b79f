// The Go tools' names this program answers to (a symlink, or the package's bin entries), and what
// each one means: used by the entry point and by the completion scripts.

/** Every subcommand's name, known before any command module loads (the `nsq serve --version` path). */
export const COMMAND_NAMES: readonly string[] = ['serve', 'lookupd', 'pub', 'tail', 'to-file', 'to-http', 'to-nsq', 'top', 'admin', 'ls', 'peek', 'redrive', 'topic', 'channel', 'bench', 'completion'];

/** Go tool names this program answers to, and the subcommand each one means. */
export const ALIASES: Record<string, string> = {
  nsqd: 'serve',
  nsqlookupd: 'lookupd',
  to_nsq: 'pub',
  nsq_tail: 'tail',
  nsq_to_file: 'to-file',
  nsq_to_http: 'to-http',
  nsq_to_nsq: 'to-nsq',
  nsq_stat: 'top',
  nsqadmin: 'admin',
};

/** Arguments a Go tool name implies, before the user's own (which win). */
export const ALIAS_ARGS: Record<string, string[]> = {
  nsq_stat: ['--plain', '--interval=2s'],
};
