// Flags every client command shares (pub, tail, to-file, bench, top, ...), with the Go tools'
// names: their yargs definitions and their reading into typed options. By default the tools talk
// to the local node.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { ClientTls, TransportOptions } from '../../src/client/connection.js';
import type { ClientOptions } from '../../src/client/options.js';
import { addressesFlag, badFlag, durationFlag, integerFlag, lastValue, POSITIVE, usageError } from './values.js';

export const DEFAULT_NSQD_TCP = '127.0.0.1:4150';
export const DEFAULT_NSQD_HTTP = '127.0.0.1:4151';

/** The shared connection flags, read. */
export type ClientFlags = ClientOptions;

/** Which of the shared connection flags a command uses (it lists only those). */
export interface ClientFlagSet {
  /** --nsqd-tcp-address: it speaks TCP to nsqd */
  tcp?: boolean;
  /** --nsqd-http-address: it speaks HTTP to nsqd */
  http?: boolean;
  /** --lookupd-poll-interval: it asks lookupd again while it runs */
  poll?: boolean;
  /** --user-agent: it sends IDENTIFY */
  userAgent?: boolean;
}

/**
 * Adds --nsqd-tcp-address and --nsqd-http-address (repeatable), --lookupd-http-address, and
 * --lookupd-poll-interval, --user-agent, as far as the command uses them.
 */
export function clientFlags<T>(y: Argv<T>, uses: ClientFlagSet = { tcp: true, http: true, poll: true, userAgent: true }): Argv<T> {
  const group = 'Connection:';
  if (uses.tcp === true) y = y.option('nsqd-tcp-address', { type: 'string', array: true, nargs: 1, describe: `nsqd TCP address (may be given multiple times) [default: ${DEFAULT_NSQD_TCP}]`, group });
  if (uses.http === true) y = y.option('nsqd-http-address', { type: 'string', array: true, nargs: 1, describe: `nsqd HTTP address (may be given multiple times) [default: ${DEFAULT_NSQD_HTTP}]`, group });
  y = y.option('lookupd-http-address', { type: 'string', array: true, nargs: 1, describe: 'lookupd HTTP address to discover nsqd nodes (may be given multiple times)', group });
  if (uses.poll === true) y = y.option('lookupd-poll-interval', { type: 'string', describe: 'how often to ask lookupd for the nodes again (Go duration) [default: 1m]', group });
  if (uses.userAgent === true) y = y.option('user-agent', { type: 'string', describe: 'user agent sent to nsqd in IDENTIFY', group });
  return y as unknown as Argv<T>;
}

/**
 * Adds --auth-secret, for the commands that talk to nsqd over TCP (pub, tail, to-file, bench) or
 * to its HTTP API (`http`: pub --http, top's actions); the Go tools' spelling,
 * --consumer-opt/--producer-opt=auth_secret,<secret>, comes with transportFlags.
 */
export function authFlag<T>(y: Argv<T>, http = false): Argv<T> {
  return y.option('auth-secret', {
    type: 'string',
    describe: http
      ? 'secret sent with AUTH to nsqd nodes that require authorization, and as the bearer of HTTP requests to nodes started with --auth-http-api (go-nsq: auth_secret)'
      : 'secret sent with AUTH to nsqd nodes that require authorization (go-nsq: auth_secret)',
    group: 'Connection:',
  }) as unknown as Argv<T>;
}

/** --auth-secret (or auth_secret from the Go tools' --consumer-opt/--producer-opt). */
function authSecret(argv: Record<string, unknown>): string {
  const flag = withGoOptions(argv)['auth-secret'];
  return flag === undefined ? '' : lastString(flag);
}

const lastString = (raw: unknown): string => (raw === undefined ? '' : lastValue(raw));

export function readClientFlags(argv: Record<string, unknown>, tool: string, version: string): ClientFlags {
  const lookupds = addressesFlag('lookupd-http-address', argv['lookupd-http-address'], [], { defaultPort: 4161, http: true });
  // with lookupd the nodes are discovered: the local node is no longer assumed
  const local = (fallback: string): string[] => (lookupds.length > 0 ? [] : [fallback]);
  return {
    nsqdTcpAddresses: addressesFlag('nsqd-tcp-address', argv['nsqd-tcp-address'], local(DEFAULT_NSQD_TCP), { defaultPort: 4150 }),
    lookupdHttpAddresses: lookupds,
    lookupdPollInterval: argv['lookupd-poll-interval'] === undefined ? 60_000 : durationFlag('lookupd-poll-interval', argv['lookupd-poll-interval'], POSITIVE),
    nsqdHttpAddresses: addressesFlag('nsqd-http-address', argv['nsqd-http-address'], local(DEFAULT_NSQD_HTTP), { defaultPort: 4151, http: true }),
    userAgent: typeof argv['user-agent'] === 'string' ? argv['user-agent'] : `nsq-${tool}/${version}`,
    authSecret: authSecret(argv),
  };
}

// ---- transport: TLS and compression for the TCP client commands (pub, tail, to-file, bench) ----

const TLS_MIN_VERSIONS: Record<string, NonNullable<ClientTls['minVersion']>> = {
  'ssl3.0': 'TLSv1',
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/**
 * Adds --tls, --tls-cert, --tls-key, --tls-root-ca-file, --tls-insecure-skip-verify, --tls-min-version,
 * --snappy, --deflate, --deflate-level; and `goOpt`, the Go tool's pass-through of go-nsq options
 * (`--consumer-opt=tls_v1,true`) for the transport ones.
 */
export function transportFlags<T>(y: Argv<T>, goOpt?: 'consumer-opt' | 'producer-opt'): Argv<T> {
  const group = 'Transport:';
  if (goOpt !== undefined) {
    y = y.option(goOpt, {
      type: 'string',
      array: true,
      nargs: 1,
      describe: `go-nsq option as <name>,<value> (may be given multiple times): ${Object.keys(GO_NSQ_OPTIONS).join(', ')}`,
      group,
    }) as unknown as Argv<T>;
  }
  return tlsFlags(y.option('tls', { type: 'boolean', describe: 'negotiate TLS with nsqd (implied by the other --tls-* flags)', group }) as unknown as Argv<T>, group)
    .option('snappy', { type: 'boolean', describe: 'negotiate snappy compression', group })
    .option('deflate', { type: 'boolean', describe: 'negotiate deflate compression', group })
    .option('deflate-level', { type: 'string', describe: 'deflate compression level 1-9 (nsqd may lower it) [default: 6]', group }) as unknown as Argv<T>;
}

function readPemFlag(argv: Record<string, unknown>, flag: string): Buffer | undefined {
  const v = argv[flag];
  if (v === undefined || v === '') return undefined;
  const file = String(Array.isArray(v) ? v[v.length - 1] : v);
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw usageError(`cannot read --${flag} ${file}: ${why}`, 'E_BAD_FLAG');
  }
}

/** go-nsq config names (as nsq_tail, nsq_to_file and to_nsq pass them on) → our flag */
const GO_NSQ_OPTIONS: Record<string, string> = {
  tls_v1: 'tls',
  tls_root_ca_file: 'tls-root-ca-file',
  tls_insecure_skip_verify: 'tls-insecure-skip-verify',
  tls_cert: 'tls-cert',
  tls_key: 'tls-key',
  tls_min_version: 'tls-min-version',
  snappy: 'snappy',
  deflate: 'deflate',
  deflate_level: 'deflate-level',
  auth_secret: 'auth-secret',
  user_agent: 'user-agent',
  max_in_flight: 'max-in-flight',
  lookupd_poll_interval: 'lookupd-poll-interval',
};

/** go-nsq's other config names: accepted (scripts pass them) with a warning that they change nothing here. */
const GO_NSQ_NO_EFFECT = new Set([
  'dial_timeout', 'read_timeout', 'write_timeout', 'local_addr', 'lookupd_poll_jitter', 'max_requeue_delay', 'default_requeue_delay',
  'backoff_strategy', 'max_backoff_duration', 'backoff_multiplier', 'max_attempts', 'low_rdy_idle_timeout', 'low_rdy_timeout',
  'rdy_redistribute_interval', 'client_id', 'hostname', 'heartbeat_interval', 'sample_rate', 'output_buffer_size', 'output_buffer_timeout', 'msg_timeout',
]);
const warned = new Set<string>();
const BOOL_FLAGS = new Set(['tls', 'tls-insecure-skip-verify', 'snappy', 'deflate']);

/** Folds --consumer-opt / --producer-opt values into the flags they stand for (the program does it for every command). */
export function withGoOptions(argv: Record<string, unknown>): Record<string, unknown> {
  const out = { ...argv };
  for (const flag of ['consumer-opt', 'producer-opt']) {
    const raw = argv[flag];
    if (raw === undefined) continue;
    for (const opt of (Array.isArray(raw) ? raw : [raw]).map(String)) {
      const comma = opt.indexOf(',');
      const name = comma === -1 ? opt : opt.slice(0, comma);
      // go-nsq: a name without a value is boolean true
      const value = comma === -1 ? 'true' : opt.slice(comma + 1);
      const ours = GO_NSQ_OPTIONS[name];
      if (ours === undefined && GO_NSQ_NO_EFFECT.has(name)) {
        if (!warned.has(name)) process.stderr.write(`nsq: warning: --${flag} ${name} has no effect here (accepted for the Go tools' command lines)\n`);
        warned.add(name);
        continue;
      }
      if (ours === undefined) throw badFlag(flag, opt, `supported options are ${Object.keys(GO_NSQ_OPTIONS).join(', ')}`);
      if (BOOL_FLAGS.has(ours)) {
        const v = value.toLowerCase();
        if (['1', 't', 'true'].includes(v)) out[ours] = true;
        else if (['0', 'f', 'false'].includes(v)) out[ours] = false;
        else throw badFlag(flag, opt, 'want true or false');
      } else {
        out[ours] = value;
      }
    }
  }
  return out;
}

/**
 * Adds the TLS flags that make sense for a command that speaks only HTTP (nsq top): they apply to
 * its https:// addresses.
 */
export function httpsFlags<T>(y: Argv<T>): Argv<T> {
  return tlsFlags(y, 'HTTPS (for https:// addresses):');
}

/** The certificate flags, for TCP's TLS upgrade and for https:// alike. */
function tlsFlags<T>(y: Argv<T>, group: string): Argv<T> {
  return y
    .option('tls-cert', { type: 'string', describe: 'client certificate (PEM), for nsqd with --tls-client-auth-policy', group })
    .option('tls-key', { type: 'string', describe: 'client certificate key (PEM)', group })
    .option('tls-root-ca-file', { type: 'string', describe: "certificate authority (PEM) nsqd's certificate must be signed by [default: the system's]", group })
    .option('tls-insecure-skip-verify', { type: 'boolean', describe: 'accept any certificate from nsqd (self-signed, other name): encrypted, not authenticated', group })
    .option('tls-min-version', { type: 'string', describe: 'lowest TLS version to accept: tls1.0, tls1.1, tls1.2, tls1.3 [default: tls1.2]', group }) as unknown as Argv<T>;
}

export function readTransportFlags(cli: Record<string, unknown>): TransportOptions {
  const argv = withGoOptions(cli);
  const out: TransportOptions = {};
  const given = (f: string): boolean => argv[f] !== undefined && argv[f] !== false && argv[f] !== '';
  if (argv['tls'] === true || ['tls-cert', 'tls-key', 'tls-root-ca-file', 'tls-insecure-skip-verify', 'tls-min-version'].some(given)) {
    const tls: ClientTls = {};
    const cert = readPemFlag(argv, 'tls-cert');
    const key = readPemFlag(argv, 'tls-key');
    if ((cert === undefined) !== (key === undefined)) throw usageError('--tls-cert and --tls-key must be given together', 'E_BAD_FLAG');
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    const ca = readPemFlag(argv, 'tls-root-ca-file');
    if (ca !== undefined) tls.ca = ca;
    if (argv['tls-insecure-skip-verify'] === true) tls.insecureSkipVerify = true;
    if (given('tls-min-version')) {
      const v = String(argv['tls-min-version']).toLowerCase();
      const node = TLS_MIN_VERSIONS[v];
      if (node === undefined) throw badFlag('tls-min-version', argv['tls-min-version'], `want one of ${Object.keys(TLS_MIN_VERSIONS).join(', ')}`);
      tls.minVersion = node;
    }
    out.tls = tls;
  }
  if (argv['snappy'] === true && argv['deflate'] === true) throw usageError('give either --snappy or --deflate, not both', 'E_BAD_FLAG');
  if (argv['snappy'] === true) out.snappy = true;
  if (argv['deflate'] === true || argv['deflate-level'] !== undefined) {
    out.deflate = true;
    if (argv['deflate-level'] !== undefined) {
      out.deflateLevel = integerFlag('deflate-level', argv['deflate-level'], 1, 9);
    }
    if (out.snappy === true) throw usageError('give either --snappy or --deflate, not both', 'E_BAD_FLAG');
  }
  return out;
}
