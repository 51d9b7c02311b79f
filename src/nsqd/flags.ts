// nsqd's flags as the engine knows them: names as nsqd spells them, each mapped to an option field
// and a kind, as Go's Options struct tags do. It feeds /config/:opt, and the command line
// (commands/flags/nsqd.ts reads values by it), --config, completions and the README's flag table.
// Defaults come from options.ts, so the help text and the engine cannot disagree.

import { formatDuration } from '../util/duration.js';
import { LOG_LEVELS } from '../util/log.js';
import { defaultOptions, TLS_REQUIRED, TLS_REQUIRED_EXCEPT_HTTP, type NsqdOptions } from './options.js';

export type Kind = 'string' | 'address' | 'int' | 'bytes' | 'duration' | 'bool' | 'level' | 'list' | 'urls' | 'topics' | 'channels' | 'method' | 'format' | 'floats' | 'tls-required' | 'tls-version' | 'tls-policy' | 'degraded';

/** Kinds whose flag may be given several times (and takes comma-separated values). */
export const isListKind = (kind: Kind): boolean => kind === 'list' || kind === 'urls' || kind === 'topics' || kind === 'channels' || kind === 'floats';

export interface FlagSpec {
  /** null: accepted for compatibility with nsqd's command lines, and has no effect here */
  key: keyof NsqdOptions | null;
  kind: Kind;
  describe: string;
  /** the default depends on the host: --help and the README say this instead of one host's value */
  hostDefault?: string;
}

export const NSQD_FLAGS: Record<string, FlagSpec> = {
  'tcp-address': { key: 'tcpAddress', kind: 'address', describe: '<addr>:<port> to listen on for TCP clients (nsqd listens on 0.0.0.0:4150 by default; give that to accept remote clients)' },
  'http-address': { key: 'httpAddress', kind: 'address', describe: '<addr>:<port> to listen on for HTTP clients' },
  'https-address': { key: 'httpsAddress', kind: 'string', describe: '<addr>:<port> to listen on for HTTPS clients (when --tls-cert is given)' },
  'broadcast-address': { key: 'broadcastAddress', kind: 'string', describe: 'address that will be registered with lookupd (default: the host name, or 127.0.0.1 when listening on loopback only)' },
  'broadcast-tcp-port': { key: 'broadcastTcpPort', kind: 'int', describe: 'TCP port registered with lookupd (defaults to the TCP port this nsqd listens on)' },
  'broadcast-http-port': { key: 'broadcastHttpPort', kind: 'int', describe: 'HTTP port registered with lookupd (defaults to the HTTP port this nsqd listens on)' },
  'lookupd-tcp-address': { key: 'nsqlookupdTcpAddresses', kind: 'list', describe: 'lookupd TCP address (may be given multiple times)' },
  'auth-http-address': { key: 'authHttpAddresses', kind: 'urls', describe: '<addr>:<port> or a full url to query auth server (may be given multiple times)' },
  'auth-http-api': { key: 'authHttpApi', kind: 'bool', describe: 'authorize the HTTP API too: /pub, /mpub and the admin routes need an Authorization: Bearer <secret> header that the auth server grants (not in nsqd)' },
  'auth-http-request-method': { key: 'authHttpRequestMethod', kind: 'method', describe: 'HTTP method to use for auth server requests (get or post)' },
  'data-path': { key: 'dataPath', kind: 'string', describe: 'path to store disk-backed messages (default: the current folder)' },
  'node-id': { key: 'nodeId', kind: 'int', describe: 'unique part for message IDs, (int) in range [0,1024)', hostDefault: 'hash of hostname' },
  'log-level': { key: 'logLevel', kind: 'level', describe: `set log verbosity: ${LOG_LEVELS.join(', ')}` },
  'log-prefix': { key: 'logPrefix', kind: 'string', describe: 'log message prefix' },
  'log-format': { key: 'logFormat', kind: 'format', describe: 'text (nsqd\'s lines) or json (one object a line)' },
  'mem-queue-size': { key: 'memQueueSize', kind: 'int', describe: 'number of messages to keep in memory (per topic/channel)' },
  'max-bytes-per-file': { key: 'maxBytesPerFile', kind: 'bytes', describe: 'number of bytes per diskqueue file before rolling' },
  'sync-every': { key: 'syncEvery', kind: 'int', describe: 'number of messages per diskqueue fsync' },
  'sync-timeout': { key: 'syncTimeout', kind: 'duration', describe: 'duration of time per diskqueue fsync' },
  durable: { key: 'durable', kind: 'bool', describe: 'answer PUB/MPUB/DPUB only once the message is fsynced, and keep it until a consumer FINs it (survives kill -9; not in nsqd)' },
  retention: { key: 'retention', kind: 'duration', describe: 'durable topics keep their journal this long after every channel is done with it, for channels created with from= (0: not at all; not in nsqd)' },
  'retention-size': { key: 'retentionSize', kind: 'bytes', describe: 'and keep at most this many bytes of it (0: no size limit; not in nsqd)' },
  'durable-topic': { key: 'durableTopics', kind: 'topics', describe: 'durable mode for matching topics only (repeatable; * matches any characters, as in payments.*)' },
  'ordered-channel': { key: 'orderedChannels', kind: 'channels', describe: 'channels matching <topic>/<channel> are ordered from birth: one message out at a time, in publish order (repeatable; * matches any characters, as in orders/*; per channel: POST /channel/config?ordered=true; not in nsqd)' },
  'replica-address': { key: 'replicaAddresses', kind: 'list', describe: "TCP <addr>:<port> of an nsq serve node that keeps a copy of this node's durable topics (repeatable; not in nsqd)" },
  'replication-factor': { key: 'replicationFactor', kind: 'int', describe: 'copies of each durable message, this node included, before a publish is answered OK (1: no replication)' },
  'failover-timeout': { key: 'failoverTimeout', kind: 'duration', describe: 'a replica that has not heard from the node it copies for this long delivers its unfinished messages' },
  'replication-degraded': { key: 'replicationDegraded', kind: 'degraded', describe: 'with fewer in-sync replicas than needed: refuse durable publishes (E_PUB_FAILED), or accept them with fewer copies' },
  'replica-name': { key: 'replicaName', kind: 'string', describe: "this node's name to its replicas, the same across restarts and a new disk (default: <broadcast-address>:<tcp port>)" },
  'replication-auth-secret': { key: 'replicationAuthSecret', kind: 'string', describe: 'AUTH secret sent to replicas that require authorization (its grant must allow publish and subscribe on topic .* channel .*)' },
  'queue-scan-interval': { key: 'queueScanInterval', kind: 'duration', describe: 'how often to scan for message and deferral timeouts' },
  'msg-timeout': { key: 'msgTimeout', kind: 'duration', describe: 'default duration to wait before auto-requeing a message' },
  'max-msg-timeout': { key: 'maxMsgTimeout', kind: 'duration', describe: 'maximum duration before a message will timeout' },
  'max-msg-size': { key: 'maxMsgSize', kind: 'bytes', describe: 'maximum size of a single message in bytes' },
  'max-body-size': { key: 'maxBodySize', kind: 'bytes', describe: 'maximum size of a single command body' },
  'max-req-timeout': { key: 'maxReqTimeout', kind: 'duration', describe: 'maximum requeuing timeout for a message' },
  'max-rdy-count': { key: 'maxRdyCount', kind: 'int', describe: 'maximum RDY count for a client' },
  'max-heartbeat-interval': { key: 'maxHeartbeatInterval', kind: 'duration', describe: 'maximum client configurable duration of time between client heartbeats' },
  'max-output-buffer-size': { key: 'maxOutputBufferSize', kind: 'bytes', describe: 'maximum client configurable size (in bytes) for a client output buffer' },
  'max-output-buffer-timeout': { key: 'maxOutputBufferTimeout', kind: 'duration', describe: 'maximum client configurable duration of time between flushing to a client' },
  'min-output-buffer-timeout': { key: 'minOutputBufferTimeout', kind: 'duration', describe: 'minimum client configurable duration of time between flushing to a client' },
  'output-buffer-timeout': { key: 'outputBufferTimeout', kind: 'duration', describe: 'default duration of time between flushing data to clients' },
  'max-channel-consumers': { key: 'maxChannelConsumers', kind: 'int', describe: 'maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)' },
  'max-attempts': { key: 'maxAttempts', kind: 'int', describe: 'deliveries of a message before it is moved to the dead-letter topic <topic>.dead instead of delivered again (0 = unlimited; per channel: POST /channel/config; not in nsqd)' },
  deflate: { key: 'deflate', kind: 'bool', describe: 'enable deflate feature negotiation (client compression)' },
  'max-deflate-level': { key: 'maxDeflateLevel', kind: 'int', describe: 'max deflate compression level a client can negotiate (> values == > nsqd CPU usage)' },
  snappy: { key: 'snappy', kind: 'bool', describe: 'enable snappy feature negotiation (client compression)' },
  'tls-cert': { key: 'tlsCert', kind: 'string', describe: 'path to certificate file (PEM)' },
  'tls-key': { key: 'tlsKey', kind: 'string', describe: 'path to key file (PEM)' },
  'tls-client-auth-policy': { key: 'tlsClientAuthPolicy', kind: 'tls-policy', describe: 'client certificate auth policy: require or require-verify (implies --tls-required)' },
  'tls-root-ca-file': { key: 'tlsRootCaFile', kind: 'string', describe: 'path to certificate authority file (PEM) that client certificates are verified against (and, with --replica-address, the replicas\' certificates)' },
  'tls-required': { key: 'tlsRequired', kind: 'tls-required', describe: "require TLS for client connections (true, false, tcp-https: TCP only, plain HTTP stays open)" },
  'tls-min-version': { key: 'tlsMinVersion', kind: 'tls-version', describe: 'minimum SSL/TLS version acceptable: ssl3.0, tls1.0, tls1.1, tls1.2 or tls1.3' },
  'statsd-address': { key: 'statsdAddress', kind: 'string', describe: 'UDP <addr>:<port> of a statsd daemon for pushing stats' },
  'statsd-prefix': { key: 'statsdPrefix', kind: 'string', describe: 'prefix used for keys sent to statsd (%s for host replacement)' },
  'statsd-interval': { key: 'statsdInterval', kind: 'duration', describe: 'duration between pushing to statsd' },
  'statsd-mem-stats': { key: 'statsdMemStats', kind: 'bool', describe: 'toggle sending memory stats to statsd' },
  'statsd-udp-packet-size': { key: 'statsdUdpPacketSize', kind: 'int', describe: 'the size in bytes of statsd UDP packets' },
  'statsd-exclude-ephemeral': { key: 'statsdExcludeEphemeral', kind: 'bool', describe: 'skip ephemeral topics and channels when sending stats to statsd' },
  'queue-scan-worker-pool-max': { key: null, kind: 'int', describe: 'accepted for nsqd compatibility; the scan loop here is one pass over all channels' },
  'queue-scan-selection-count': { key: null, kind: 'int', describe: 'accepted for nsqd compatibility; every channel is scanned each pass' },
  'http-client-connect-timeout': { key: 'httpClientConnectTimeout', kind: 'duration', describe: 'timeout for HTTP connect (auth server queries)' },
  'http-client-request-timeout': { key: 'httpClientRequestTimeout', kind: 'duration', describe: 'timeout for HTTP request (auth server queries)' },
  verbose: { key: null, kind: 'bool', describe: '[deprecated] has no effect, use --log-level' },
  'worker-id': { key: null, kind: 'bool', describe: '[deprecated] has no effect, use --node-id' },
  'e2e-processing-latency-percentile': { key: 'e2eProcessingLatencyPercentiles', kind: 'floats', describe: "message processing time percentiles (as float (0, 1.0]) to track (can be given multiple times or comma separated '1.0,0.99,0.95', default none)" },
  'e2e-processing-latency-window-time': { key: 'e2eProcessingLatencyWindowTime', kind: 'duration', describe: 'calculate end to end latency quantiles for this duration of time' },
};

/** The default shown in --help, in the syntax the flag takes. */
export function flagDefault(spec: FlagSpec, defaults: NsqdOptions = defaultOptions()): string | number {
  if (spec.key === null) return '';
  const v = defaults[spec.key];
  if (spec.kind === 'duration') return formatDuration(v as number);
  if (isListKind(spec.kind)) return (v as unknown[]).join(',');
  if (spec.kind === 'tls-required') return v === TLS_REQUIRED ? 'true' : v === TLS_REQUIRED_EXCEPT_HTTP ? 'tcp-https' : 'false';
  return v as string | number;
}

/** nsqd's config file names that are not the flag's name with underscores */
export const CONFIG_NAME_TO_FLAG: Readonly<Record<string, string>> = {
  id: 'node-id',
  nsqlookupd_tcp_addresses: 'lookupd-tcp-address',
  auth_http_addresses: 'auth-http-address',
  e2e_processing_latency_percentiles: 'e2e-processing-latency-percentile',
  durable_topics: 'durable-topic',
  replica_addresses: 'replica-address',
  ordered_channels: 'ordered-channel',
};
