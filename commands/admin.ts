// What `nsq ls`, `nsq topic` and `nsq channel` share (not a command itself): the flags of a command
// that talks to nsqd's and lookupd's HTTP API only, their reading into typed options, name checks,
// and the create|delete|pause|unpause|empty subcommands of `topic` and `channel`.

import type { Argv, CommandModule } from 'yargs';
import type { AdminAction } from '../src/client/admin.js';
import { NAME_RULE, isValidChannelName, isValidTopicName } from '../src/protocol/names.js';
import { packageVersion } from '../src/version.js';
import { authFlag, clientFlags, httpsFlags, readClientFlags, readTransportFlags } from './flags/client.js';
import { durationFlag, POSITIVE, usageError } from './flags/values.js';

/** ADMIN_ACTIONS of src/client/admin.ts, which this module must not import at start-up */
const ACTIONS: readonly AdminAction[] = ['create', 'delete', 'pause', 'unpause', 'empty'];

/** --nsqd-http-address, --lookupd-http-address, the HTTPS flags and --timeout; `auth`: --auth-secret too. */
export function httpAdminFlags<T>(y: Argv<T>, auth: boolean): Argv<T> {
  const base = clientFlags(y, { http: true });
  return httpsFlags(auth ? authFlag(base, true) : base)
    // clientFlags' TCP and polling flags mean nothing to a command that makes one round of HTTP requests
    .hide('nsqd-tcp-address')
    .hide('lookupd-poll-interval')
    .hide('user-agent')
    .option('timeout', { type: 'string', default: '5s', describe: 'how long to wait for each node and lookupd (Go duration)', group: 'Connection:' });
}

export interface HttpAdminConnection {
  nsqdHttpAddresses: string[];
  lookupdHttpAddresses: string[];
  timeoutMs: number;
  authSecret: string;
}

/** The flags of httpAdminFlags as options; the TLS ones are applied to the process's https:// requests. */
export async function readHttpAdminFlags(argv: Record<string, unknown>, tool: string): Promise<HttpAdminConnection> {
  const flags = readClientFlags(argv, tool, packageVersion());
  const timeoutMs = durationFlag('timeout', argv['timeout'], POSITIVE);
  const transport = readTransportFlags(argv);
  const { useTlsForHttps } = await import('../src/client/http.js');
  await useTlsForHttps(transport);
  return { nsqdHttpAddresses: flags.nsqdHttpAddresses, lookupdHttpAddresses: flags.lookupdHttpAddresses, timeoutMs, authSecret: flags.authSecret };
}

/** A topic or channel name as nsqd would take it, or the one-line error (exit 2). */
export function checkName(kind: 'topic' | 'channel', name: string): string {
  const valid = kind === 'topic' ? isValidTopicName(name) : isValidChannelName(name);
  if (!valid) throw usageError(`invalid ${kind} name ${JSON.stringify(name)}: ${NAME_RULE}`, kind === 'topic' ? 'E_BAD_TOPIC' : 'E_BAD_CHANNEL');
  return name;
}

const DOES: Record<AdminAction, string> = {
  create: 'create',
  delete: 'delete (and its messages)',
  pause: 'pause (messages wait; publishing goes on)',
  unpause: 'unpause',
  empty: 'empty (drop the queued messages)',
};

function actionCommand(kind: 'topic' | 'channel', action: AdminAction): CommandModule {
  const args = kind === 'topic' ? '<topic>' : '<topic> <channel>';
  return {
    command: `${action} ${args}`,
    describe: DOES[action].replace(/^(\w)(\w*)/, (_, first: string, rest: string) => `${first.toUpperCase()}${rest} a ${kind}`),
    builder: (y) => {
      let b = y.positional('topic', { type: 'string', describe: 'topic name' });
      if (kind === 'channel') b = b.positional('channel', { type: 'string', describe: 'channel name' });
      return b;
    },
    handler: async (argv) => {
      const topic = checkName('topic', String(argv['topic']));
      const channel = kind === 'channel' ? checkName('channel', String(argv['channel'])) : undefined;
      const connection = await readHttpAdminFlags(argv as Record<string, unknown>, kind);
      const { runAdmin } = await import('../src/tools/admin.js');
      process.exitCode = await runAdmin({ action, topic, ...(channel === undefined ? {} : { channel }), ...connection, yes: argv['yes'] === true });
    },
  };
}

const WHERE = {
  topic: `Acts on the local node (127.0.0.1:4151) by default, on every --nsqd-http-address given, and with
--lookupd-http-address on every node lookupd lists for the topic (create: on every registered node).`,
  channel: `Acts on the local node (127.0.0.1:4151) by default, on every --nsqd-http-address given, and with
--lookupd-http-address on every node lookupd lists for the topic (create: on the topic's nodes, or on
every registered node when none has it yet).`,
};

const EPILOGUE = (kind: 'topic' | 'channel'): string => `${WHERE[kind]} delete through lookupd first removes the ${kind}'s
registration at each lookupd, as nsqadmin does.

delete and empty need --yes; at a terminal without it they ask first.

Prints one line per node. A node that has no such ${kind} (404) is reported and skipped.

Exit status:
  0  done on every node that has the ${kind}
  1  a node or lookupd failed or did not answer, no node has the ${kind}, or the answer was no
  2  usage error: bad flag, bad name, or delete/empty without --yes and without a terminal`;

/** `nsq topic <action> <topic>` or `nsq channel <action> <topic> <channel>`. */
export function adminCommand(kind: 'topic' | 'channel'): CommandModule {
  const args = kind === 'topic' ? '<topic>' : '<topic> <channel>';
  const example = kind === 'topic' ? 'orders' : 'orders billing';
  return {
    command: kind,
    describe: `Create, delete, pause, unpause or empty a ${kind} on nsqd nodes: nsq ${kind} <action> ${args}`,
    builder: (y) => {
      let b = httpAdminFlags(y, true)
        .usage(`nsq ${kind} <create|delete|pause|unpause|empty> ${args} [options]`)
        .parserConfiguration({ 'parse-positional-numbers': false })
        .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'delete, empty: go ahead without asking' });
      for (const action of ACTIONS) b = b.command(actionCommand(kind, action));
      return b
        .demandCommand(1, `${kind} needs an action: ${ACTIONS.join(', ')}`)
        .example(`$0 ${kind} create ${example}`, 'on the local node')
        .example(`$0 ${kind} pause ${example} --lookupd-http-address=127.0.0.1:4161`, 'on every node lookupd lists for the topic')
        .example(`$0 ${kind} delete ${example} --lookupd-http-address=127.0.0.1:4161 --yes`, 'without asking')
        .epilog(EPILOGUE(kind));
    },
    handler: () => {},
  };
}
