// `nsq admin` (also `nsqadmin`): nsqadmin's HTTP API and a web page over the cluster, with
// nsqadmin 1.3's flags (apps/nsqadmin/main.go). The server is src/admin/server.ts; docs/admin.md.

import type { Argv, CommandModule } from 'yargs';
import { withConfigFile, type ConfigFlag } from './flags/config-file.js';
import { addressesFlag, durationFlag, hostPortFlag, lastValue, levelFlag, listValue, usageError, valueOption } from './flags/values.js';

const G = 'nsqadmin options:';

/** The flags nsqadmin has and `nsq admin` accepts with a warning: graphite and statsd drive nsqadmin's graphs, which the page draws from the nodes' counters instead. */
const IGNORED = ['graphite-url', 'proxy-graphite', 'statsd-counter-format', 'statsd-gauge-format', 'statsd-prefix', 'statsd-interval', 'skip-resolve-on-startup', 'dev-static-path', 'verbose'];
const REPEATABLE = new Set(['lookupd-http-address', 'nsqd-http-address', 'admin-user']);

export function adminFlags<T>(y: Argv<T>): Argv<T> {
  const b = y
    .option('http-address', { type: 'string', describe: '<addr>:<port> to listen on for HTTP clients (nsqadmin: 0.0.0.0:4171)', defaultDescription: '"127.0.0.1:4171"', group: G })
    .option('lookupd-http-address', { type: 'string', array: true, nargs: 1, describe: 'lookupd HTTP address (may be given multiple times)', group: G })
    .option('nsqd-http-address', { type: 'string', array: true, nargs: 1, describe: 'nsqd HTTP address (may be given multiple times; instead of --lookupd-http-address)', group: G })
    .option('base-path', { type: 'string', describe: 'URL base path', defaultDescription: '"/"', group: G })
    .option('acl-http-header', { type: 'string', describe: 'HTTP header to check for authenticated admin users', defaultDescription: '"X-Forwarded-User"', group: G })
    .option('admin-user', { type: 'string', array: true, nargs: 1, describe: 'admin user (may be given multiple times; if given, only these users may act; --acl-http-header names the user)', group: G })
    .option('notification-http-endpoint', { type: 'string', describe: 'HTTP endpoint (fully qualified) to which POST notifications of admin actions are sent', group: G })
    .option('http-client-connect-timeout', valueOption('duration', { describe: 'timeout for HTTP connect', defaultDescription: '2s', group: G }))
    .option('http-client-request-timeout', valueOption('duration', { describe: 'timeout for HTTP request', defaultDescription: '5s', group: G }))
    .option('http-client-tls-insecure-skip-verify', valueOption('boolean', { describe: 'configure the HTTP client to skip verification of TLS certificates', group: G }))
    .option('http-client-tls-root-ca-file', { type: 'string', describe: 'path to CA file for the HTTP client', group: G })
    .option('http-client-tls-cert', { type: 'string', describe: 'path to certificate file for the HTTP client', group: G })
    .option('http-client-tls-key', { type: 'string', describe: 'path to key file for the HTTP client', group: G })
    .option('allow-config-from-cidr', { type: 'string', describe: 'a CIDR from which to allow HTTP requests to the /config endpoint', defaultDescription: '"127.0.0.1/8"', group: G })
    .option('log-level', { type: 'string', describe: 'log verbosity: debug, info, warn, error, or fatal', defaultDescription: '"info"', group: G })
    .option('log-prefix', { type: 'string', describe: 'log message prefix', defaultDescription: '"[nsqadmin] "', group: G })
    .option('config', { type: 'string', describe: "path to a config file in nsqadmin's TOML format (underscored option names)", group: G });
  for (const flag of IGNORED) b.option(flag, { type: 'string', hidden: true });
  return b as unknown as Argv<T>;
}

function configFlag(key: string): ConfigFlag {
  const flag = key.replace(/_/g, '-');
  const known = ['http-address', 'base-path', 'acl-http-header', 'notification-http-endpoint', 'http-client-connect-timeout', 'http-client-request-timeout', 'http-client-tls-insecure-skip-verify', 'http-client-tls-root-ca-file', 'http-client-tls-cert', 'http-client-tls-key', 'allow-config-from-cidr', 'log-level', 'log-prefix', ...REPEATABLE, ...IGNORED];
  // nsqadmin's config keys for the repeatable flags are plural: nsqlookupd_http_addresses, nsqd_http_addresses, admin_users
  const plural: Record<string, string> = { 'nsqlookupd-http-addresses': 'lookupd-http-address', 'nsqd-http-addresses': 'nsqd-http-address', 'admin-users': 'admin-user' };
  const f = plural[flag] ?? flag;
  return known.includes(f) ? { flag: f, repeatable: REPEATABLE.has(f) } : undefined;
}

async function adminWith(cli: Record<string, unknown>): Promise<void> {
  const argv = await withConfigFile(cli, configFlag);
  const given = (f: string): boolean => argv[f] !== undefined;
  for (const flag of IGNORED) if (given(flag)) process.stderr.write(`nsq admin: --${flag} has no effect (the page's rates come from the nodes' own counters, not graphite)\n`);
  const lookupds = given('lookupd-http-address') ? addressesFlag('lookupd-http-address', listValue(argv['lookupd-http-address']), [], { http: true }) : [];
  const nsqds = given('nsqd-http-address') ? addressesFlag('nsqd-http-address', listValue(argv['nsqd-http-address']), [], { http: true }) : [];
  if (lookupds.length > 0 && nsqds.length > 0) throw usageError('use --lookupd-http-address or --nsqd-http-address, not both (as nsqadmin)', 'E_BAD_FLAG');
  if (lookupds.length === 0 && nsqds.length === 0) throw usageError('--lookupd-http-address or --nsqd-http-address required (as nsqadmin)', 'E_BAD_FLAG');
  const str = (f: string, d: string): string => (given(f) ? lastValue(argv[f]) : d);
  let basePath = str('base-path', '/');
  if (!basePath.startsWith('/')) basePath = `/${basePath}`;
  if (basePath.length > 1) basePath = basePath.replace(/\/+$/, '');
  const endpoint = str('notification-http-endpoint', '');
  if (endpoint !== '' && !/^https?:\/\/./.test(endpoint)) throw usageError(`invalid value "${endpoint}" for flag --notification-http-endpoint: want a fully qualified http:// or https:// URL`, 'E_BAD_FLAG');
  const cidr = str('allow-config-from-cidr', '127.0.0.1/8');
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) throw usageError(`invalid value "${cidr}" for flag --allow-config-from-cidr: want an IPv4 CIDR such as 127.0.0.1/8`, 'E_BAD_FLAG');
  const tls: Record<string, unknown> = {};
  for (const k of ['cert', 'key', 'root-ca-file']) if (given(`http-client-tls-${k}`)) tls[`tls-${k}`] = lastValue(argv[`http-client-tls-${k}`]);
  if (given('http-client-tls-insecure-skip-verify') && lastValue(argv['http-client-tls-insecure-skip-verify']) !== 'false') tls['tls-insecure-skip-verify'] = true;
  const { parseHostPort } = await import('../src/util/host-port.js');
  const httpAddress = parseHostPort(hostPortFlag('http-address', str('http-address', '127.0.0.1:4171')))!;
  const options = {
    httpAddress,
    lookupdHttpAddresses: lookupds,
    nsqdHttpAddresses: nsqds,
    basePath,
    aclHttpHeader: str('acl-http-header', 'X-Forwarded-User'),
    adminUsers: given('admin-user') ? listValue(argv['admin-user']) : [],
    notificationHttpEndpoint: endpoint,
    httpClientConnectTimeoutMs: Math.round(durationFlag('http-client-connect-timeout', str('http-client-connect-timeout', '2s'), 0)),
    httpClientRequestTimeoutMs: Math.round(durationFlag('http-client-request-timeout', str('http-client-request-timeout', '5s'), 0)),
    allowConfigFromCidr: cidr,
    logLevel: levelFlag('log-level', str('log-level', 'info')),
    logPrefix: str('log-prefix', '[nsqadmin] '),
    pollIntervalMs: 2000,
  };
  if (Object.keys(tls).length > 0) {
    const [{ readTransportFlags }, { useTlsForHttps }] = await Promise.all([import('./flags/client.js'), import('../src/client/http.js')]);
    await useTlsForHttps(readTransportFlags(tls));
  }
  const { runAdmin } = await import('./nsqadmin-run.js');
  await runAdmin(options);
}

export const admin: CommandModule = {
  command: 'admin',
  describe: "Serve nsqadmin's HTTP API and a web page over the cluster",
  builder: (y) =>
    adminFlags(y)
      .example('$0 admin --lookupd-http-address=127.0.0.1:4161', 'http://127.0.0.1:4171/ for every node registered with lookupd')
      .example('$0 admin --nsqd-http-address=127.0.0.1:4151 --http-address=0.0.0.0:4171', 'one node, the page open to the network'),
  handler: (argv) => adminWith(argv as Record<string, unknown>),
};
