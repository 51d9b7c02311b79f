// Flags every client command shares (pub, tail, to-file, bench, top), with the Go tools' names.
// By default they talk to the local node.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { ClientTls, ConnectionConfig } from '../client/connection.js';
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

function addresses(raw: unknown, flag: string, fallback: string, defaultPort: number): string[] {
  const list = raw === undefined ? [] : (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) return [fallback];
  // HTTP addresses may say their scheme (https:// for a node that serves its API over TLS)
  const http = flag.endsWith('http-address');
  for (const a of list) {
    try {
      parseAddress(http ? a.replace(/^https?:\/\//, '').replace(/\/$/, '') : a, defaultPort);
    } catch {
      throw new UserError(`invalid value "${a}" for flag --${flag}: want host:port${http ? ' or http(s)://host:port' : ''}`, 'E_BAD_FLAG', 2);
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

// ---- transport: TLS and compression for the TCP client commands (pub, tail, to-file, bench) ----

/** What the TCP commands pass on to every connection they open. */
export type TransportOptions = Pick<ConnectionConfig, 'tls' | 'snappy' | 'deflate' | 'deflateLevel'>;

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
    throw new UserError(`cannot read --${flag} ${file}: ${why}`, 'E_BAD_FLAG', 2);
  }
}

/** go-nsq config names (as nsq_tail, nsq_to_file and to_nsq pass them on) → our flag */
export const GO_NSQ_OPTIONS: Record<string, string> = {
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
};
const BOOL_FLAGS = new Set(['tls', 'tls-insecure-skip-verify', 'snappy', 'deflate']);

/** Folds --consumer-opt / --producer-opt values into the flags they stand for. */
function withGoOptions(argv: Record<string, unknown>): Record<string, unknown> {
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
      if (ours === undefined) throw new UserError(`invalid value "${opt}" for flag --${flag}: supported options are ${Object.keys(GO_NSQ_OPTIONS).join(', ')}`, 'E_BAD_FLAG', 2);
      if (BOOL_FLAGS.has(ours)) {
        const v = value.toLowerCase();
        if (['1', 't', 'true'].includes(v)) out[ours] = true;
        else if (['0', 'f', 'false'].includes(v)) out[ours] = false;
        else throw new UserError(`invalid value "${opt}" for flag --${flag}: want true or false`, 'E_BAD_FLAG', 2);
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

/**
 * The TLS flags also apply to the command's HTTP calls to https:// addresses (lookupd queries,
 * `pub --http`, `top`); loaded only when TLS flags are given.
 */
export async function useTlsForHttps(transport: TransportOptions): Promise<void> {
  if (transport.tls === undefined) return;
  const { useHttpsOptions } = await import('./https-client.js');
  useHttpsOptions(transport.tls);
}

export function readTransportFlags(cli: Record<string, unknown>): TransportOptions {
  const argv = withGoOptions(cli);
  const out: TransportOptions = {};
  const given = (f: string): boolean => argv[f] !== undefined && argv[f] !== false && argv[f] !== '';
  if (argv['tls'] === true || ['tls-cert', 'tls-key', 'tls-root-ca-file', 'tls-insecure-skip-verify', 'tls-min-version'].some(given)) {
    const tls: ClientTls = {};
    const cert = readPemFlag(argv, 'tls-cert');
    const key = readPemFlag(argv, 'tls-key');
    if ((cert === undefined) !== (key === undefined)) throw new UserError('--tls-cert and --tls-key must be given together', 'E_BAD_FLAG', 2);
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    const ca = readPemFlag(argv, 'tls-root-ca-file');
    if (ca !== undefined) tls.ca = ca;
    if (argv['tls-insecure-skip-verify'] === true) tls.insecureSkipVerify = true;
    if (given('tls-min-version')) {
      const v = String(argv['tls-min-version']).toLowerCase();
      const node = TLS_MIN_VERSIONS[v];
      if (node === undefined) throw new UserError(`invalid value "${String(argv['tls-min-version'])}" for flag --tls-min-version: want one of ${Object.keys(TLS_MIN_VERSIONS).join(', ')}`, 'E_BAD_FLAG', 2);
      tls.minVersion = node;
    }
    out.tls = tls;
  }
  if (argv['snappy'] === true && argv['deflate'] === true) throw new UserError('give either --snappy or --deflate, not both', 'E_BAD_FLAG', 2);
  if (argv['snappy'] === true) out.snappy = true;
  if (argv['deflate'] === true || argv['deflate-level'] !== undefined) {
    out.deflate = true;
    if (argv['deflate-level'] !== undefined) {
      const n = Number(argv['deflate-level']);
      if (!Number.isInteger(n) || n < 1 || n > 9) throw new UserError(`invalid value "${String(argv['deflate-level'])}" for flag --deflate-level: want an integer from 1 to 9`, 'E_BAD_FLAG', 2);
      out.deflateLevel = n;
    }
    if (out.snappy === true) throw new UserError('give either --snappy or --deflate, not both', 'E_BAD_FLAG', 2);
  }
  return out;
}
