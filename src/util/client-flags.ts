// Flags every client command shares (pub, tail, to-file, bench, top), with the Go tools' names.
// By default they talk to the local node.

import type { Argv } from 'yargs';
import { parseDuration } from './duration.js';
import { UserError } from './errors.js';
import { parseAddress } from '../client/producer.js';

export const DEFAULT_NSQD_TCP = '127.0.0.1:4150';
export const DEFAULT_NSQD_HTTP = '127.0.0.1:4151';

export interface ClientFlags {
  nsqdTcpAddresses: string[];
  nsqdHttpAddresses: string[];
  /** lookupd HTTP addresses: nodes are discovered through them (empty: none given) */
  lookupdHttpAddresses: string[];
  /** ms between lookupd polls */
  lookupdPollInterval: number;
  userAgent: string;
  /** sent with AUTH to servers that require it ('' : none) */
  authSecret: string;
}

/** Adds --nsqd-tcp-address (repeatable), --nsqd-http-address (repeatable), --user-agent. */
export function clientFlags<T>(y: Argv<T>): Argv<T> {
  return y
    .option('nsqd-tcp-address', { type: 'string', array: true, nargs: 1, describe: `nsqd TCP address (may be given multiple times) [default: ${DEFAULT_NSQD_TCP}]`, group: 'Connection:' })
    .option('nsqd-http-address', { type: 'string', array: true, nargs: 1, describe: `nsqd HTTP address (may be given multiple times) [default: ${DEFAULT_NSQD_HTTP}]`, group: 'Connection:' })
    .option('lookupd-http-address', { type: 'string', array: true, nargs: 1, describe: 'lookupd HTTP address to discover nsqd nodes (may be given multiple times)', group: 'Connection:' })
    .option('lookupd-poll-interval', { type: 'string', describe: 'how often to ask lookupd for the nodes again (Go duration) [default: 1m]', group: 'Connection:' })
    .option('user-agent', { type: 'string', describe: 'user agent sent to nsqd in IDENTIFY', group: 'Connection:' }) as unknown as Argv<T>;
}

/**
 * Adds --auth-secret, for the commands that talk to nsqd over TCP (pub, tail, to-file, bench); with
 * `goOpt`, also the Go tool's spelling of it: --consumer-opt=auth_secret,<secret> (nsq_tail,
 * nsq_to_file) or --producer-opt=auth_secret,<secret> (to_nsq).
 */
export function authFlag<T>(y: Argv<T>, goOpt?: 'consumer-opt' | 'producer-opt'): Argv<T> {
  y = y.option('auth-secret', {
    type: 'string',
    describe: 'secret sent with AUTH to nsqd nodes that require authorization (go-nsq: auth_secret)',
    group: 'Connection:',
  }) as unknown as Argv<T>;
  if (goOpt === undefined) return y;
  return y.option(goOpt, {
    type: 'string',
    array: true,
    nargs: 1,
    describe: 'go-nsq option as key,value (may be given multiple times); only auth_secret is taken here',
    group: 'Connection:',
  }) as unknown as Argv<T>;
}

/** --auth-secret, else auth_secret from the Go tools' --consumer-opt/--producer-opt (key,value). */
function authSecret(argv: Record<string, unknown>): string {
  let secret = '';
  for (const flag of ['consumer-opt', 'producer-opt']) {
    const raw = argv[flag];
    if (raw === undefined) continue;
    for (const opt of (Array.isArray(raw) ? raw : [raw]).map(String)) {
      const comma = opt.indexOf(',');
      const key = comma === -1 ? opt : opt.slice(0, comma);
      if (key !== 'auth_secret') throw new UserError(`invalid value "${opt}" for flag --${flag}: only auth_secret is supported here (the other settings have flags of their own)`, 'E_BAD_FLAG', 2);
      secret = comma === -1 ? '' : opt.slice(comma + 1);
    }
  }
  const flag = argv['auth-secret'];
  return flag === undefined ? secret : lastString(flag);
}

function addresses(raw: unknown, flag: string, fallback: string, defaultPort: number): string[] {
  const list = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) return [fallback];
  for (const a of list) {
    try {
      parseAddress(a, defaultPort);
    } catch {
      throw new UserError(`invalid value "${a}" for flag --${flag}: want host:port`, 'E_BAD_FLAG', 2);
    }
  }
  return [...new Set(list)];
}

function pollInterval(raw: unknown): number {
  if (raw === undefined) return 60_000;
  try {
    const ms = parseDuration(String(raw));
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new UserError(`invalid value "${String(raw)}" for flag --lookupd-poll-interval: want a positive Go duration`, 'E_BAD_FLAG', 2);
}

function lastString(raw: unknown): string {
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return v === undefined ? '' : String(v);
}

export function readClientFlags(argv: Record<string, unknown>, tool: string, version: string): ClientFlags {
  const lookupds = argv['lookupd-http-address'] === undefined ? [] : addresses(argv['lookupd-http-address'], 'lookupd-http-address', '', 4161);
  return {
    // with lookupd the nodes are discovered: the local node is no longer assumed
    nsqdTcpAddresses: lookupds.length > 0 && argv['nsqd-tcp-address'] === undefined ? [] : addresses(argv['nsqd-tcp-address'], 'nsqd-tcp-address', DEFAULT_NSQD_TCP, 4150),
    lookupdHttpAddresses: lookupds,
    lookupdPollInterval: pollInterval(argv['lookupd-poll-interval']),
    nsqdHttpAddresses: lookupds.length > 0 && argv['nsqd-http-address'] === undefined ? [] : addresses(argv['nsqd-http-address'], 'nsqd-http-address', DEFAULT_NSQD_HTTP, 4151),
    userAgent: typeof argv['user-agent'] === 'string' ? argv['user-agent'] : `nsq-${tool}/${version}`,
    authSecret: authSecret(argv),
  };
}
