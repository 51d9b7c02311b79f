// nsqd's options with their defaults (durations in milliseconds, sizes in bytes).

import { crc32, md5 } from '../util/node-id-hash.js';
import { hostname } from 'node:os';
import type { LogLevel } from '../util/log.js';

export const TLS_NOT_REQUIRED = 0;
/** TLS for TCP clients; the plain HTTP API stays open (`--tls-required=tcp-https`) */
export const TLS_REQUIRED_EXCEPT_HTTP = 1;
export const TLS_REQUIRED = 2;

export interface NsqdOptions {
  nodeId: number;
  logLevel: LogLevel;
  logPrefix: string;
  logFormat: 'text' | 'json';

  tcpAddress: string;
  httpAddress: string;
  broadcastAddress: string;
  broadcastTcpPort: number;
  broadcastHttpPort: number;
  dataPath: string;
  nsqlookupdTcpAddresses: string[];
  /** auth servers (host:port or a full URL); none: AUTH is disabled */
  authHttpAddresses: string[];
  authHttpRequestMethod: 'get' | 'post';
  /** --auth-http-api: the HTTP API's publish and admin routes ask the auth servers too (not in nsqd) */
  authHttpApi: boolean;
  httpClientConnectTimeout: number;
  httpClientRequestTimeout: number;

  memQueueSize: number;
  maxBytesPerFile: number;
  syncEvery: number;
  syncTimeout: number;
  /** --durable: journals + group commit; every acknowledged, unfinished message survives a crash */
  durable: boolean;
  /** --durable-topic: only topics matching one of these (`*` globs) are durable */
  durableTopics: string[];
  /** --ordered-channel: <topic glob>/<channel glob> of channels ordered from birth (docs/ordered-channels.md) */
  orderedChannels: string[];
  /** --retention (ms): durable topics keep done journal segments this long (docs/retention.md); 0: not */
  retention: number;
  /** --retention-size (bytes): and at most this much of them; 0: no size limit */
  retentionSize: number;
  /** --replica-address: nodes that keep a copy of this node's durable topics (docs/replication.md) */
  replicaAddresses: string[];
  /** --replication-factor: copies (this node included) before a durable publish is answered */
  replicationFactor: number;
  /** --failover-timeout (ms): silence after which a replica delivers an origin's messages */
  failoverTimeout: number;
  /** --replication-degraded: with too few in-sync replicas, refuse or accept durable publishes */
  replicationDegraded: 'refuse' | 'accept';
  /** --replica-name: this node's name to its replicas ('' = <broadcast-address>:<tcp port>) */
  replicaName: string;
  /** --replication-auth-secret: AUTH secret for replicas that require it */
  replicationAuthSecret: string;

  queueScanInterval: number;
  maxMsgSize: number;
  maxBodySize: number;
  maxReqTimeout: number;
  msgTimeout: number;
  maxMsgTimeout: number;
  clientTimeout: number;
  maxRdyCount: number;
  maxHeartbeatInterval: number;
  maxOutputBufferSize: number;
  maxOutputBufferTimeout: number;
  minOutputBufferTimeout: number;
  outputBufferTimeout: number;
  maxChannelConsumers: number;
  /** --max-attempts: deliveries before a message goes to its dead-letter topic; 0 = unlimited (docs/dead-letters.md) */
  maxAttempts: number;
  maxDeflateLevel: number;
  deflate: boolean;
  snappy: boolean;

  /** HTTPS API listener, started when a certificate is configured */
  httpsAddress: string;
  tlsCert: string;
  tlsKey: string;
  /** '' | 'require' | 'require-verify' */
  tlsClientAuthPolicy: string;
  tlsRootCaFile: string;
  /** nsqd's TLSRequired: TLS_NOT_REQUIRED, TLS_REQUIRED_EXCEPT_HTTP or TLS_REQUIRED */
  tlsRequired: number;
  /** nsqd's spelling: ssl3.0, tls1.0, tls1.1, tls1.2, tls1.3 */
  tlsMinVersion: string;

  statsdAddress: string;
  statsdPrefix: string;
  statsdInterval: number;
  statsdMemStats: boolean;
  statsdUdpPacketSize: number;
  statsdExcludeEphemeral: boolean;

  e2eProcessingLatencyPercentiles: number[];
  e2eProcessingLatencyWindowTime: number;
}

/** nsqd derives its default node ID from the host name. */
export function defaultNodeId(): number {
  return crc32(md5(Buffer.from(hostname()))) % 1024;
}

export function defaultOptions(): NsqdOptions {
  return {
    nodeId: defaultNodeId(),
    logLevel: 'info',
    logPrefix: '[nsqd] ',
    logFormat: 'text',

    tcpAddress: '127.0.0.1:4150',
    httpAddress: '127.0.0.1:4151',
    // '' = the host name, or 127.0.0.1 when listening on loopback only (resolved at start)
    broadcastAddress: '',
    broadcastTcpPort: 0,
    broadcastHttpPort: 0,
    dataPath: '',
    nsqlookupdTcpAddresses: [],
    authHttpAddresses: [],
    authHttpRequestMethod: 'get',
    authHttpApi: false,
    httpClientConnectTimeout: 2000,
    httpClientRequestTimeout: 5000,

    memQueueSize: 10000,
    maxBytesPerFile: 100 * 1024 * 1024,
    syncEvery: 2500,
    syncTimeout: 2000,
    durable: false,
    durableTopics: [],
    orderedChannels: [],
    retention: 0,
    retentionSize: 0,
    replicaAddresses: [],
    replicationFactor: 1,
    failoverTimeout: 10_000,
    replicationDegraded: 'refuse',
    replicaName: '',
    replicationAuthSecret: '',

    queueScanInterval: 100,
    maxMsgSize: 1024 * 1024,
    maxBodySize: 5 * 1024 * 1024,
    maxReqTimeout: 60 * 60 * 1000,
    msgTimeout: 60 * 1000,
    maxMsgTimeout: 15 * 60 * 1000,
    clientTimeout: 60 * 1000,
    maxRdyCount: 2500,
    maxHeartbeatInterval: 60 * 1000,
    maxOutputBufferSize: 64 * 1024,
    maxOutputBufferTimeout: 30 * 1000,
    minOutputBufferTimeout: 25,
    outputBufferTimeout: 250,
    maxChannelConsumers: 0,
    maxAttempts: 0,
    maxDeflateLevel: 6,
    deflate: true,
    snappy: true,

    httpsAddress: '127.0.0.1:4152',
    tlsCert: '',
    tlsKey: '',
    tlsClientAuthPolicy: '',
    tlsRootCaFile: '',
    tlsRequired: TLS_NOT_REQUIRED,
    tlsMinVersion: 'tls1.2',

    statsdAddress: '',
    statsdPrefix: 'nsq.%s',
    statsdInterval: 60_000,
    statsdMemStats: true,
    statsdUdpPacketSize: 508,
    statsdExcludeEphemeral: false,

    e2eProcessingLatencyPercentiles: [],
    e2eProcessingLatencyWindowTime: 10 * 60 * 1000,
  };
}
